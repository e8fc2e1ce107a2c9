"""What every column of every table asset means: the asset pages' column schemas.

One dictionary per table. ``table_metadata`` refuses a frame with a column missing here, so
a column added to an asset without a description fails its first materialization (and the
tests), instead of showing up blank in the UI."""

SEED_QA = {
    "seed_id": "content hash of question, choices and answer (identical seeds stored once)",
    "discipline": "discipline from the taxonomy (partition key)",
    "subject": "subject as named by the source (file name for MMLU/CMMLU)",
    "question": "the question text, normalized (Unicode NFC, whitespace)",
    "choices": "answer options, empty for open questions",
    "answer": "correct option letter, or the answer text for open questions",
    "answer_text": "the text of the correct option (the answer itself for open questions)",
    "explanation": "the source's explanation of the answer, if it gives one",
    "source": "format of the source file (mmlu_csv, cmmlu_csv, jsonl, parquet)",
    "source_file": "file the seed was read from",
    "source_line": "1-based line (CSV/JSONL) or row (Parquet) in that file",
    "language": "detected language code",
    "difficulty": "1-5 if the source gives one",
}

SEED_KPS = {
    "seed_id": "the seed the knowledge point was extracted from (seed_qa.seed_id)",
    "discipline": "the seed's discipline (partition key)",
    "kp_rank": "position of the KP in the model's answer (1 = first named)",
    "kp_name": "the KP as the model named it (before canonicalization)",
    "kp_discipline": "the discipline the model gave the KP",
    "model": "litellm model id that answered",
    "prompt_version": "version id of the extraction prompt (name and content hash)",
    "request_key": "hash of the request in the LLM result store (the answer is never paid twice)",
    "extracted_at": "when the answer was first received",
}

KNOWLEDGE_POINTS = {
    "kp_id": "stable id of the canonical KP (hash of its canonical key)",
    "name": "most frequent surface form among the seeds naming it",
    "key": "canonical key: case, plural, alias and spelling variants folded",
    "frequency": "distinct seeds naming the KP (its popularity)",
    "disciplines": "every discipline the KP was named in (sorted)",
    "primary_discipline": "the discipline of most of its seeds",
    "aliases": "every surface form merged into this KP (sorted)",
    "first_seen": "earliest extraction naming the KP",
    "last_seen": "latest extraction naming the KP",
}

PATHS = {
    "path_id": "stable id of the path (start discipline, number, KPs, graph version)",
    "start_discipline": "discipline the walk started in (kp_paths' partition key)",
    "path_index": "number of the path among its start discipline's, in walk order",
    "length": "KPs on the path",
    "kp_ids": "the KPs in walk order",
    "kp_names": "their names",
    "disciplines": "primary disciplines met along the path, in order of first visit",
    "crosses_disciplines": "whether the path visits KPs of more than one discipline",
    "seed_ids": "seeds pulled into the synthesis prompt (most path KPs first, then each KP's least-used)",
    "seed_link_strength": "for each pulled seed, how many of the path's KPs it holds",
    "target_difficulty": "difficulty level (1-5) the item of this path is asked for, so that the start "
                         "discipline's items fill its mix (null when difficulty is not steered)",
    "round": "0 for the plan's first walks; n for the walks of round n, asked for the cells the release missed",
    "walk_params": "the walk settings, the quotas of the plan and each further round's request (JSON)",
    "graph_version": "version of the KP graph the walk ran on",
}

QA = {
    "qa_id": "stable id of the item (hash of its path and its request)",
    "discipline": "the path's start discipline (partition key)",
    "path_id": "the walk the item was written from (kp_paths.path_id)",
    "question": "the question",
    "choices": "answer options",
    "answer": "correct option letter",
    "explanation": "the model's explanation of the answer",
    "kps_used": "the KPs the model says the question combines",
    "path_kp_ids": "the KPs of the path",
    "target_difficulty": "difficulty level the item was asked for (null when difficulty is not steered)",
    "source_seed_ids": "the seeds shown to the model (seed_qa.seed_id)",
    "language": "language asked for: the majority language of the source seeds",
    "reasoning": "the reasoning model's trace, when it returns one (kept in DuckDB, not released)",
    "model": "litellm model id that answered",
    "prompt_version": "version id of the prompt (name and content hash)",
    "request_key": "hash of the request in the LLM result store",
    "prompt_tokens": "prompt tokens of the call",
    "completion_tokens": "completion tokens of the call",
    "reasoning_tokens": "reasoning tokens of the call (part of the completion)",
    "cost_usd": "cost of the call in USD",
}

ENHANCED = {
    **QA,
    "variant": "original, or rewrite for a version rewritten toward the target level",
    "enhanced_from": "for a rewrite, the qa_id it was rewritten from",
    "rewrite_round": "0 for the original, n for the n-th rewrite of the path's item",
    "difficulty": "judged difficulty level, 1 (easiest) to 5",
    "difficulty_rationale": "the judge's reason for the level",
    "judge_answers": "the letters the judge chose, one per reading: it solves the item without its key "
                     "before grading it (the verifier's first answers when the verifier is the same model)",
    "selected": "the version of the path's item that goes on to verification and release: the first judged "
                "on its target level when the release holds its cells, else the closest (every original "
                "when difficulty is not steered)",
}

VERIFIED = {
    **ENHANCED,
    "verifier_answers": "the verifier's answers (letters) in the order asked, without seeing the key; the "
                        "first ones are the judge's solves when the verifier is the judge's model",
    "verifier_model": "litellm model id of the verifier",
    "verdict": "agrees (a majority of the k answers is the key), disagrees (a majority is another letter), "
               "no_majority, unverified (too few answers: failed calls), or not_verified (verification off)",
}

RELEASE = {
    **{k: v for k, v in VERIFIED.items() if k not in ("reasoning", "selected", "judge_answers")},
    "quality_flags": "soft quality signals (question_too_short, too_few_choices, language_mismatch)",
    "tokens": "tokens of question, choices, answer and explanation (tiktoken cl100k_base)",
}
