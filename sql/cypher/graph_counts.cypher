CALL () { MATCH (k:KnowledgePoint) RETURN count(k) AS knowledge_points }
CALL () { MATCH (s:Seed) RETURN count(s) AS seeds }
CALL () { MATCH (d:Discipline) RETURN count(d) AS disciplines }
CALL () { MATCH ()-[e:CO_OCCURS]->() RETURN count(e) AS co_occurs }
CALL () { MATCH ()-[h:HAS_KP]->() RETURN count(h) AS has_kp }
CALL () { MATCH ()-[i:IN_DISCIPLINE]->() RETURN count(i) AS in_discipline }
RETURN knowledge_points, seeds, disciplines, co_occurs, has_kp, in_discipline
