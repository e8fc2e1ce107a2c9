-- The seed nodes of the seeds kp_graph's changes name (`wanted_seeds`: seed_id), as seeds_with_kps has them.
SELECT s.seed_id, s.discipline, s.subject, s.language, s.question
FROM seed_qa s JOIN wanted_seeds w USING (seed_id)
ORDER BY s.seed_id
