-- The seed links of some KPs (`wanted_kps`: kp_id, registered by the caller), e.g. the KPs
-- on one partition's paths: a join, so the cost follows those KPs, not the whole table.
SELECT l.seed_id, l.kp_id FROM seed_kp_links l JOIN wanted_kps w USING (kp_id)
