-- Released items without a difficulty level (the judge gave none), per discipline: they are
-- in the release but in no discipline x level cell, so the run's summary counts them apart.
SELECT discipline, count(*) AS items FROM linkqa_dataset WHERE difficulty IS NULL GROUP BY discipline ORDER BY discipline
