-- A fixed sample of seeds (at most 2,000, by hash of their id) whose tokens per item estimate
-- the first round's items under a token budget; seeds have no explanation, so it is NULL here
SELECT question, choices, answer, NULL::VARCHAR AS explanation
FROM seed_qa ORDER BY hash(seed_id), seed_id LIMIT 2000
