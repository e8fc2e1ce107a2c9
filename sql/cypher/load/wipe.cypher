// Remove the whole KP graph (relationships first, in small transactions, so hub KPs never
// need one huge transaction), before a full load of a graph whose state is unknown.
MATCH ()-[r:CO_OCCURS]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS;
MATCH ()-[r:HAS_KP]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS;
MATCH ()-[r:IN_DISCIPLINE]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS;
MATCH (n) WHERE n:KnowledgePoint OR n:Seed OR n:Discipline CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
