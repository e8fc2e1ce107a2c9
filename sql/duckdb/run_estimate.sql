SELECT * FROM run_estimate ORDER BY stage
