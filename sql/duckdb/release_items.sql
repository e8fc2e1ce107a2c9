SELECT * FROM linkqa_dataset ORDER BY discipline, qa_id
