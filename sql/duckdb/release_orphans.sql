-- Release items whose provenance is broken: source seeds not in seed_qa, paths not in kp_paths.
-- `dataset` is the release being written (registered by the caller).
SELECT
    (SELECT count(*) FROM (SELECT unnest(source_seed_ids) AS seed_id FROM dataset) d
      WHERE d.seed_id NOT IN (SELECT seed_id FROM seed_qa)) AS missing_seeds,
    (SELECT count(*) FROM dataset WHERE path_id NOT IN (SELECT path_id FROM kp_paths)) AS missing_paths
