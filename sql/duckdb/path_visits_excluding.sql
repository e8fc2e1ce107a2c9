-- How many stored paths of other start disciplines pass through each KP: the coverage
-- counters a new walk of $discipline starts from.
SELECT kp_id, count(*)::BIGINT AS visits
FROM (SELECT unnest(kp_ids) AS kp_id FROM kp_paths WHERE start_discipline <> $discipline)
GROUP BY kp_id
