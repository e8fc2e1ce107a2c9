// KPs whose properties changed (their IN_DISCIPLINE links are written apart); their style
// labels (all but KnowledgePoint) are replaced by $labels[i].
UNWIND range(0, size($kp_id) - 1) AS i
MATCH (k:KnowledgePoint {kp_id: $kp_id[i]})
SET k.name = $name[i], k.frequency = $frequency[i], k.disciplines = $disciplines[i],
    k.primary_discipline = $primary_discipline[i], k.aliases = $aliases[i]
REMOVE k:$([label IN labels(k) WHERE label <> 'KnowledgePoint'])
SET k:$($labels[i])
