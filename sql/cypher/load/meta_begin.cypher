// Before any write: the graph no longer holds a complete version until meta_end, so a load
// that stops half-way is never taken for a finished one (the next load starts over).
MERGE (m:GraphMeta {name: 'kp_graph'})
REMOVE m.version, m.knowledge_state, m.sums
SET m.loading = $version
