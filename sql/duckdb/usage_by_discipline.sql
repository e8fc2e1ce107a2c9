-- tokens and cost per discipline (the seed discipline for KP extraction, the start
-- discipline of the path for synthesis, judging and rewrites), all stages together
SELECT discipline, count(*)::BIGINT AS calls, sum(prompt_tokens)::BIGINT AS prompt_tokens,
       sum(completion_tokens)::BIGINT AS completion_tokens, sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
       sum(prompt_tokens + completion_tokens)::BIGINT AS tokens, sum(cost_usd)::DOUBLE AS cost_usd
FROM llm_usage GROUP BY discipline ORDER BY discipline
