-- The stored walk plan's paths walked on another graph version than $version, in walk
-- order: what an extended plan may keep when the graph has grown (see walk_plan).
SELECT *
FROM walk_plan
WHERE graph_version <> $version
ORDER BY start_discipline, path_index
