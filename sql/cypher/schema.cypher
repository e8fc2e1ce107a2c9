// Constraints and indexes of the KP graph; each statement runs on its own (idempotent).
CREATE CONSTRAINT kp_id_unique IF NOT EXISTS FOR (k:KnowledgePoint) REQUIRE k.kp_id IS UNIQUE;
CREATE CONSTRAINT seed_id_unique IF NOT EXISTS FOR (s:Seed) REQUIRE s.seed_id IS UNIQUE;
CREATE CONSTRAINT discipline_name_unique IF NOT EXISTS FOR (d:Discipline) REQUIRE d.name IS UNIQUE;
CREATE CONSTRAINT graph_meta_unique IF NOT EXISTS FOR (m:GraphMeta) REQUIRE m.name IS UNIQUE;
CREATE INDEX kp_name IF NOT EXISTS FOR (k:KnowledgePoint) ON (k.name);
CREATE INDEX kp_primary_discipline IF NOT EXISTS FOR (k:KnowledgePoint) ON (k.primary_discipline);
CREATE INDEX seed_discipline IF NOT EXISTS FOR (s:Seed) ON (s.discipline);
