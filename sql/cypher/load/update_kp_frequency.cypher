// KPs whose only change is their frequency (the common case as seeds are added), and with
// it their frequency band label: $band_labels are all of them, $band[i] the KP's.
UNWIND range(0, size($kp_id) - 1) AS i
MATCH (k:KnowledgePoint {kp_id: $kp_id[i]})
SET k.frequency = $frequency[i]
REMOVE k:$($band_labels)
SET k:$($band[i])
