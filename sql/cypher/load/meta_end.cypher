// After the last write of a load: the graph holds exactly this version.
MERGE (m:GraphMeta {name: 'kp_graph'})
SET m.version = $version, m.loaded_at = datetime()
REMOVE m.loading
