// One relationship per KP pair, stored from the smaller kp_id to the larger; walks treat it
// as undirected. The weight is SET (number of seeds holding both), never incremented.
UNWIND $rows AS row
MATCH (a:KnowledgePoint {kp_id: row.kp_a})
MATCH (b:KnowledgePoint {kp_id: row.kp_b})
MERGE (a)-[e:CO_OCCURS]->(b)
SET e.weight = row.weight, e.graph_version = $version
