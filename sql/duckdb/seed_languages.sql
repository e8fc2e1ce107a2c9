SELECT discipline, language FROM seed_qa
