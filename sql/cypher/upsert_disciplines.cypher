UNWIND $rows AS row
MERGE (d:Discipline {name: row.name})
SET d.display_name = row.display_name, d.graph_version = $version
