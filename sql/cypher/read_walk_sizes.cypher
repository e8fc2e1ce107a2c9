// Sizes of the walk graph, to preallocate its arrays (both counts come from the count store).
CALL () { MATCH (k:KnowledgePoint) RETURN count(k) AS nodes }
CALL () { MATCH ()-[e:CO_OCCURS]->() RETURN count(e) AS edges }
RETURN nodes, edges
