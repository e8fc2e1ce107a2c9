SELECT path_id, start_discipline, kp_ids, length, crosses_disciplines FROM kp_paths ORDER BY path_id
