-- every path of the materialized kp_paths partitions: its start discipline, the level its item was asked for, its round
SELECT path_id, start_discipline, target_difficulty, "round", walk_params FROM kp_paths ORDER BY path_id
