MERGE (m:GraphMeta {name: 'kp_graph'})
SET m.version = $version, m.loaded_at = datetime()
