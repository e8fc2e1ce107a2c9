UNWIND range(0, size($kp_id) - 1) AS i
MATCH (:KnowledgePoint {kp_id: $kp_id[i]})-[r:IN_DISCIPLINE]->(:Discipline {name: $discipline[i]})
DELETE r
