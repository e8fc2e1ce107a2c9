-- tokens and cost per path: its synthesis call plus the judging and rewrites of its QA
SELECT path_id, any_value(discipline) AS discipline, count(*)::BIGINT AS calls,
       sum(prompt_tokens + completion_tokens)::BIGINT AS tokens, sum(cost_usd)::DOUBLE AS cost_usd
FROM llm_usage WHERE path_id IS NOT NULL GROUP BY path_id ORDER BY cost_usd DESC, tokens DESC, path_id
