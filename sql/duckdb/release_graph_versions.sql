-- The KP-graph versions the release's items were walked on: version -> released items.
-- `dataset` is the release being written (registered by the caller).
SELECT p.graph_version, count(*)::BIGINT AS items
FROM dataset d JOIN (SELECT DISTINCT path_id, graph_version FROM kp_paths) p USING (path_id)
GROUP BY p.graph_version ORDER BY p.graph_version
