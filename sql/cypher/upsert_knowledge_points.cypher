// Properties are SET from DuckDB (the source of truth); `visits` is left to kp_paths.
UNWIND $rows AS row
MERGE (k:KnowledgePoint {kp_id: row.kp_id})
SET k.name = row.name,
    k.frequency = row.frequency,
    k.disciplines = row.disciplines,
    k.primary_discipline = row.primary_discipline,
    k.aliases = row.aliases,
    k.graph_version = $version
WITH k, row
UNWIND row.disciplines AS discipline_name
MATCH (d:Discipline {name: discipline_name})
MERGE (k)-[r:IN_DISCIPLINE]->(d)
SET r.graph_version = $version
