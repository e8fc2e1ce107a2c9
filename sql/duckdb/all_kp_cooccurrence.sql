SELECT kp_a, kp_b, weight FROM kp_cooccurrence ORDER BY kp_a, kp_b
