-- items removed from the release per reason
SELECT reason, count(*) AS items FROM dataset_drops GROUP BY reason ORDER BY reason
