// One page of KP nodes in kp_id order after $after (keyset pagination on the kp_id index),
// as columns: one record per page keeps the driver's per-record work small. The node key
// (the database id) lets edge pages name their endpoints with integers (id() is deprecated
// in Neo4j 5 but integers map to positions with one vectorized search; elementId() would
// need a dict lookup per endpoint). The kp_id uniqueness constraint makes each page an
// index seek in kp_id order.
MATCH (k:KnowledgePoint)
WHERE k.kp_id > $after
WITH k ORDER BY k.kp_id LIMIT $limit
RETURN count(k) AS nodes,
       collect(k.kp_id) AS kp_ids,
       collect(coalesce(k.frequency, -1.0)) AS frequency,
       collect(coalesce(k.primary_discipline, '')) AS discipline,
       collect(id(k)) AS node_keys
