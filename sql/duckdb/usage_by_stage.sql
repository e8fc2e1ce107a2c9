SELECT stage, count(*)::BIGINT AS calls, sum(prompt_tokens)::BIGINT AS prompt_tokens,
       sum(completion_tokens)::BIGINT AS completion_tokens, sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
       sum(cost_usd)::DOUBLE AS cost_usd
FROM llm_usage GROUP BY stage ORDER BY stage
