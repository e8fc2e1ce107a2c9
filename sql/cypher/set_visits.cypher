// Coverage counters: how many stored paths pass through each KP (SET from DuckDB's kp_paths).
UNWIND $rows AS row
MATCH (k:KnowledgePoint {kp_id: row.kp_id})
SET k.visits = row.visits
