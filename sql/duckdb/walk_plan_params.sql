-- The parameters the stored walk plan was walked with (each round's plan; plan_params picks the latest).
SELECT DISTINCT walk_params FROM walk_plan
