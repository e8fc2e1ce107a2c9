-- The source seeds of the report's items to look at (`wanted_seeds`: seed_id, registered by
-- the caller): where each was read from, file and line.
SELECT s.seed_id, s.source_file, s.source_line, s.question
FROM seed_qa s JOIN wanted_seeds w USING (seed_id)
ORDER BY s.seed_id
