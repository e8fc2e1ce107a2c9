SELECT discipline, count(*)::BIGINT AS seeds FROM seed_qa GROUP BY discipline ORDER BY discipline
