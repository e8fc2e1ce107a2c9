UNWIND $rows AS row
MATCH (s:Seed {seed_id: row.seed_id})
MATCH (k:KnowledgePoint {kp_id: row.kp_id})
MERGE (s)-[r:HAS_KP]->(k)
SET r.graph_version = $version
