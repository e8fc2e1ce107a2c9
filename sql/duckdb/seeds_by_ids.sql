-- The seeds a path pulls into its synthesis prompt (`wanted_seeds`: seed_id, registered by
-- the caller). A join: list_contains over a parameter list would compare every seed with
-- every wanted id, seeds x wanted, quadratic once both grow with the corpus.
SELECT s.seed_id, s.discipline, s.subject, s.question, s.choices, s.answer, s.answer_text, s.language
FROM seed_qa s JOIN wanted_seeds w USING (seed_id)
