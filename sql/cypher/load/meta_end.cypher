// After the last write of a load: the graph holds exactly this version, its KPs labelled for
// Neo4j Browser's style as $style names (core/graph_style.py STYLE_VERSION).
MERGE (m:GraphMeta {name: 'kp_graph'})
SET m.version = $version, m.loaded_at = datetime(), m.style = $style
REMOVE m.loading
