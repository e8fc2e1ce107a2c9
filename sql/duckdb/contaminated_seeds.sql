SELECT count(DISTINCT item_id)::BIGINT AS seeds FROM decontamination_hits WHERE stage = 'seed_qa'
