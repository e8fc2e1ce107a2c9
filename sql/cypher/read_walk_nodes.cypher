MATCH (k:KnowledgePoint)
RETURN k.kp_id AS kp_id, k.frequency AS frequency, k.primary_discipline AS discipline
ORDER BY kp_id
