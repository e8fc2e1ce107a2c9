-- Paths of the stored walk plan per start discipline.
SELECT start_discipline, count(*)::BIGINT AS paths FROM walk_plan GROUP BY start_discipline
