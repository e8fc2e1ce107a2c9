UNWIND range(0, size($name) - 1) AS i
MERGE (d:Discipline {name: $name[i]})
SET d.display_name = $display_name[i]
