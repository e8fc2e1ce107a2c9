// Remove what the current graph version no longer holds (edges first, then nodes).
CALL () {
  MATCH ()-[r]->()
  WHERE type(r) IN ['CO_OCCURS', 'HAS_KP', 'IN_DISCIPLINE'] AND coalesce(r.graph_version, '') <> $version
  DELETE r
} IN TRANSACTIONS OF 10000 ROWS;
CALL () {
  MATCH (n)
  WHERE (n:KnowledgePoint OR n:Seed OR n:Discipline) AND coalesce(n.graph_version, '') <> $version
  DETACH DELETE n
} IN TRANSACTIONS OF 10000 ROWS;
