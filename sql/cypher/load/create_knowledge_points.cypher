// New KPs (absent from Neo4j). Columns arrive as parallel lists, row i across them.
// `visits` is left to kp_paths. $labels[i]: the KP's style labels, its primary discipline and
// frequency band (core/graph_style.py), which Neo4j Browser colours and sizes it by.
UNWIND range(0, size($kp_id) - 1) AS i
CREATE (k:KnowledgePoint {kp_id: $kp_id[i], name: $name[i], frequency: $frequency[i], disciplines: $disciplines[i],
                          primary_discipline: $primary_discipline[i], aliases: $aliases[i]})
SET k:$($labels[i])
