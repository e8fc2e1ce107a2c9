-- The walk graph's values (frequency, primary discipline) of the KPs in the view wanted_kps
-- (kp_id): the KPs kp_changes names as new or changed, for the walk plan's cached graph.
SELECT kp_id, frequency, primary_discipline FROM knowledge_points WHERE kp_id IN (SELECT kp_id FROM wanted_kps)
