-- The seeds KPs are extracted from (the estimate of a run counts an extraction per seed)
SELECT count(*)::BIGINT AS seeds FROM seed_qa
