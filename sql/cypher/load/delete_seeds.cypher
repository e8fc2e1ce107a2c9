UNWIND $seed_id AS id
MATCH (s:Seed {seed_id: id})
DETACH DELETE s
