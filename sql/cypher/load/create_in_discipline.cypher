UNWIND range(0, size($kp_id) - 1) AS i
MATCH (k:KnowledgePoint {kp_id: $kp_id[i]})
MATCH (d:Discipline {name: $discipline[i]})
CREATE (k)-[:IN_DISCIPLINE]->(d)
