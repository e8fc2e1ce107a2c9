UNWIND range(0, size($seed_id) - 1) AS i
MATCH (:Seed {seed_id: $seed_id[i]})-[r:HAS_KP]->(:KnowledgePoint {kp_id: $kp_id[i]})
DELETE r
