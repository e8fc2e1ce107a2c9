// One relationship per KP pair, from the smaller kp_id to the larger; walks treat it as
// undirected. The weight is the number of seeds holding both.
UNWIND range(0, size($kp_a) - 1) AS i
MATCH (a:KnowledgePoint {kp_id: $kp_a[i]})
MATCH (b:KnowledgePoint {kp_id: $kp_b[i]})
CREATE (a)-[:CO_OCCURS {weight: $weight[i]}]->(b)
