UNWIND $kp_id AS id
MATCH (k:KnowledgePoint {kp_id: id})
DETACH DELETE k
