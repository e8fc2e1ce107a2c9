UNWIND range(0, size($kp_a) - 1) AS i
MATCH (:KnowledgePoint {kp_id: $kp_a[i]})-[e:CO_OCCURS]->(:KnowledgePoint {kp_id: $kp_b[i]})
SET e.weight = $weight[i]
