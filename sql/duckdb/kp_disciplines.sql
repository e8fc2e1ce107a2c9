SELECT DISTINCT primary_discipline FROM knowledge_points WHERE primary_discipline IS NOT NULL ORDER BY 1
