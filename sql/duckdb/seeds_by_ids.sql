-- The seeds a path pulls into its synthesis prompt.
SELECT seed_id, discipline, subject, question, choices, answer, answer_text, language
FROM seed_qa
WHERE list_contains($seed_ids, seed_id)
