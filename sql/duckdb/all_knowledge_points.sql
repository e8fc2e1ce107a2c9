SELECT kp_id, name, frequency, primary_discipline FROM knowledge_points ORDER BY kp_id
