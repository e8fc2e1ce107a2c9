// The CO_OCCURS edges (each stored once) leaving one page of KP nodes in kp_id order after
// $after, as columns of node keys and weights; `last` is where the next page starts.
MATCH (a:KnowledgePoint)
WHERE a.kp_id > $after
WITH a ORDER BY a.kp_id LIMIT $limit
OPTIONAL MATCH (a)-[e:CO_OCCURS]->(b:KnowledgePoint)
RETURN count(DISTINCT a) AS nodes,
       max(a.kp_id) AS last,
       collect(CASE WHEN e IS NULL THEN NULL ELSE id(a) END) AS src,
       collect(id(b)) AS dst,
       collect(CASE WHEN e IS NULL THEN NULL ELSE coalesce(e.weight, 0.0) END) AS weight
