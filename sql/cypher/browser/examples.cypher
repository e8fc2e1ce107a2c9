// Ready-to-paste queries for Neo4j Browser (http://127.0.0.1:7474/browser/). The guide Browser
// opens on connecting to the local server shows each one on a slide (core/browser_guide.py):
// a query's first comment line is its title, the others its explanation.

// 1. The most popular knowledge points and their strongest neighbours
// A KP's neighbourhood: the KPs it co-occurs with in seeds, the edge captioned by how often.
MATCH (k:KnowledgePoint)-[e:CO_OCCURS]-(n:KnowledgePoint)
WITH k, e, n ORDER BY k.frequency DESC, e.weight DESC
RETURN k, e, n LIMIT 50;

// 2. Knowledge points that join two disciplines
// The strongest CO_OCCURS edges between KPs whose primary disciplines differ.
MATCH (a:KnowledgePoint)-[e:CO_OCCURS]-(b:KnowledgePoint)
WHERE a.primary_discipline <> b.primary_discipline
RETURN a.name, a.primary_discipline, b.name, b.primary_discipline, e.weight
ORDER BY e.weight DESC LIMIT 25;

// 3. Where the paths run in one discipline
// Neo4j holds how many walk_plan paths visit each KP (visits), not the paths themselves (each
// path's KPs are rows of kp_paths in DuckDB): the discipline's most visited KPs and the visited
// KPs next to them, the edges a path may have taken.
MATCH (k:KnowledgePoint {primary_discipline: 'physics'}) WHERE k.visits > 0
WITH k ORDER BY k.visits DESC LIMIT 25
OPTIONAL MATCH (k)-[e:CO_OCCURS]-(n:KnowledgePoint) WHERE n.visits > 0
RETURN k, e, n;

// 4. The least covered knowledge points
// Fewest path visits first (none yet counts as 0), the most frequent first among equals.
MATCH (k:KnowledgePoint)
RETURN k.name, k.primary_discipline, k.frequency, coalesce(k.visits, 0) AS visits
ORDER BY visits, k.frequency DESC LIMIT 25;

// 5. Seeds of one discipline and their knowledge points
MATCH (s:Seed {discipline: 'physics'})-[:HAS_KP]->(k:KnowledgePoint)
RETURN s, k LIMIT 100;
