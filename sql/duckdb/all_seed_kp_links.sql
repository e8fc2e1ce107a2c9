SELECT seed_id, kp_id FROM seed_kp_links ORDER BY seed_id, kp_id
