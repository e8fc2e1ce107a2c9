-- The seeds that become (:Seed) nodes: those with at least one canonical KP.
SELECT s.seed_id, s.discipline, s.subject, s.language, s.question
FROM seed_qa s
WHERE s.seed_id IN (SELECT seed_id FROM seed_kp_links)
ORDER BY s.seed_id
