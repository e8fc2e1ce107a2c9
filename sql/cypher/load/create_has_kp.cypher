UNWIND range(0, size($seed_id) - 1) AS i
MATCH (s:Seed {seed_id: $seed_id[i]})
MATCH (k:KnowledgePoint {kp_id: $kp_id[i]})
CREATE (s)-[:HAS_KP]->(k)
