-- What the last run of knowledge_points changed (kp_changes), for kp_graph.
SELECT * FROM kp_changes
