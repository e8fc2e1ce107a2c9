OPTIONAL MATCH (m:GraphMeta {name: 'kp_graph'})
RETURN m.version AS version, m.loaded_at AS loaded_at, m.style AS style, m.knowledge_state AS knowledge_state,
       m.sums AS sums
