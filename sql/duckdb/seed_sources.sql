SELECT source, count(*)::BIGINT AS seeds FROM seed_qa GROUP BY source ORDER BY source
