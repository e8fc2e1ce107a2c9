SELECT path_id, start_discipline, path_index, kp_ids, length, crosses_disciplines, seed_ids, walk_params
FROM kp_paths ORDER BY path_id
