MATCH (a:KnowledgePoint)-[e:CO_OCCURS]->(b:KnowledgePoint)
RETURN a.kp_id AS kp_a, b.kp_id AS kp_b, e.weight AS weight
