UNWIND $rows AS row
MERGE (s:Seed {seed_id: row.seed_id})
SET s.discipline = row.discipline,
    s.subject = row.subject,
    s.language = row.language,
    s.question = row.question,
    s.graph_version = $version
