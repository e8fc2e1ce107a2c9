-- What the KP graph in Neo4j must hold, counted in DuckDB: one row, named as graph_counts.cypher names them.
SELECT
    (SELECT count(*) FROM knowledge_points)::BIGINT AS knowledge_points,
    (SELECT count(DISTINCT seed_id) FROM seed_kp_links WHERE seed_id IN (SELECT seed_id FROM seed_qa))::BIGINT AS seeds,
    (SELECT count(*) FROM seed_kp_links)::BIGINT AS has_kp,
    (SELECT count(*) FROM kp_cooccurrence)::BIGINT AS co_occurs
