// KPs whose only change is their frequency (the common case as seeds are added).
UNWIND range(0, size($kp_id) - 1) AS i
MATCH (k:KnowledgePoint {kp_id: $kp_id[i]})
SET k.frequency = $frequency[i]
