SELECT stage, count(*)::BIGINT AS failures FROM llm_failures GROUP BY stage ORDER BY stage
