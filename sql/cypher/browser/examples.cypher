// Ready-to-paste queries for Neo4j Browser (http://127.0.0.1:7474/browser/).

// 1. The most popular knowledge points and their strongest neighbours
MATCH (k:KnowledgePoint)-[e:CO_OCCURS]-(n:KnowledgePoint)
WITH k, e, n ORDER BY k.frequency DESC, e.weight DESC
RETURN k, e, n LIMIT 50;

// 2. Knowledge points that bridge two disciplines
MATCH (a:KnowledgePoint)-[e:CO_OCCURS]-(b:KnowledgePoint)
WHERE a.primary_discipline <> b.primary_discipline
RETURN a.name, a.primary_discipline, b.name, b.primary_discipline, e.weight
ORDER BY e.weight DESC LIMIT 25;

// 3. Seeds of one discipline and their knowledge points
MATCH (s:Seed {discipline: 'physics'})-[:HAS_KP]->(k:KnowledgePoint)
RETURN s, k LIMIT 100;

// 4. Coverage: knowledge points no path has visited yet
MATCH (k:KnowledgePoint) WHERE coalesce(k.visits, 0) = 0
RETURN k.name, k.primary_discipline, k.frequency ORDER BY k.frequency DESC LIMIT 25;
