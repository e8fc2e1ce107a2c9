UNWIND range(0, size($seed_id) - 1) AS i
MATCH (s:Seed {seed_id: $seed_id[i]})
SET s.discipline = $discipline[i], s.subject = $subject[i], s.language = $language[i], s.question = $question[i]
