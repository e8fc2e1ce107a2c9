-- How many stored paths starting in the given disciplines pass through each KP.
SELECT kp_id, count(*)::BIGINT AS visits
FROM (SELECT unnest(kp_ids) AS kp_id FROM kp_paths WHERE list_contains($disciplines, start_discipline))
GROUP BY kp_id
