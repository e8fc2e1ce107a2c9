-- tokens and cost per path: its synthesis call plus the rewrites, verification and the judge calls that read
-- its items alone (a judge call reading several paths' items has no path_id)
SELECT path_id, any_value(discipline) AS discipline, count(*)::BIGINT AS calls,
       sum(prompt_tokens + completion_tokens)::BIGINT AS tokens, sum(cost_usd)::DOUBLE AS cost_usd
FROM llm_usage WHERE path_id IS NOT NULL GROUP BY path_id ORDER BY cost_usd DESC, tokens DESC, path_id
