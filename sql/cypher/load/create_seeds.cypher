UNWIND range(0, size($seed_id) - 1) AS i
CREATE (:Seed {seed_id: $seed_id[i], discipline: $discipline[i], subject: $subject[i], language: $language[i],
               question: $question[i]})
