-- How many paths of the stored walk plan pass through each KP.
SELECT kp_id, count(*)::BIGINT AS visits
FROM (SELECT unnest(kp_ids) AS kp_id FROM walk_plan)
GROUP BY kp_id
