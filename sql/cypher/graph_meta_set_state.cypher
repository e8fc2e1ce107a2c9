// After a load: the knowledge state (kp_changes.to_state) the graph holds, and the sums its
// version is made of ("sum:rows" per table), from which kp_graph's next increment starts.
MATCH (m:GraphMeta {name: 'kp_graph'})
WHERE m.version = $version
SET m.knowledge_state = $knowledge_state, m.sums = $sums
