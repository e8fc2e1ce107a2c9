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
    "round": "the walk round of the item's path (kp_paths.round): 0 for the plan's first walks",
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
    "difficulty": "judged difficulty level, 1 (easiest) to 5: the median of the judge's readings",
    "difficulty_rationale": "the judge's reason for the level",
    "difficulty_confidence": "closed loop: the probability of that level given the readings and the level asked, "
                             "under the partition's learned model of the generator's drift and the judge's noise "
                             "(taken for its target at LINKSYN_SYNTHESIS__LEVEL_CONFIDENCE); open loop: empty",
    "judge_levels": "the levels the judge read, one per reading, in the order asked",
    "judge_answers": "the letters the judge chose, one per reading: it solves the item without its key "
                     "before grading it (the verifier's first answers when the verifier is the same model)",
    "selected": "the version of the path's item that goes on to verification and release: when the release "
                "holds its cells, the surest of those taken for their target level (none: the path goes no "
                "further); else the closest to the target (every original when difficulty is not steered)",
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
    **{k: v for k, v in VERIFIED.items()
       if k not in ("reasoning", "selected", "judge_answers", "judge_levels", "difficulty_confidence", "round")},
    "quality_flags": "soft quality signals (question_too_short, too_few_choices, language_mismatch)",
    "tokens": "tokens of question, choices, answer and explanation (tiktoken cl100k_base)",
}

# the side tables (sql/duckdb/schema.sql), which the assets write beside their outputs

SEED_REJECTS = {
    "source_file": "seed file the row was read from",
    "source_line": "1-based line (CSV/JSONL) or row (Parquet) in that file; null when the whole file was refused",
    "field": "the field at fault, when one is (a row that fails validation)",
    "reason": "why the row or file was not loaded, in words (e.g. invalid JSON, wrong column count)",
    "raw": "the start of the rejected row as read, for the reader to fix the source",
}

SEED_KP_LINKS = {
    "seed_id": "a seed holding the KP (seed_qa.seed_id)",
    "kp_id": "a canonical KP the seed holds (knowledge_points.kp_id)",
}

KP_COOCCURRENCE = {
    "kp_a": "one KP of the pair (knowledge_points.kp_id; kp_a < kp_b)",
    "kp_b": "the other KP of the pair (knowledge_points.kp_id)",
    "weight": "distinct seeds holding both KPs (the CO_OCCURS edge weight in Neo4j)",
}

KP_NAMES = {
    "kp_name": "a KP name as extracted (seed_kps.kp_name), one row per distinct name with a canonical key",
    "key": "its canonical matching key (case, punctuation, plurals and aliases normalized)",
    "kp_id": "the canonical KP it belongs to (knowledge_points.kp_id)",
    "disciplines": "the disciplines the name was seen with (its KP's and its seeds'), sorted",
    "compact": "the key without spaces, the near-duplicate block of rule R2 (null when too short)",
    "tokens": "the key's content tokens, sorted, the near-duplicate block of rule R3 (null for fewer than two)",
    "variants": "offset:deletion of the key's long tokens (and -1:key), the near-duplicate blocks of rule R4",
}

KP_COUNTS = {
    "kp_id": "the KP (knowledge_points.kp_id)",
    "kind": "surface (a surface form of the KP) or discipline (a discipline of its mentions)",
    "value": "the surface form or the discipline",
    "seeds": "distinct seeds naming the KP in that form, or with that discipline: the name and primary "
             "discipline are the ones of most seeds",
}

KP_CHANGES = {
    "from_state": "the knowledge state the changes start from (the to_state of the run before; null after a full run)",
    "to_state": "the knowledge state they lead to (the id of the run of knowledge_points that wrote them)",
    "kind": "state (one row per run), kp, link, edge or seed",
    "change": "new, changed or gone (a KP whose frequency alone changed: frequency)",
    "kp_id": "the KP (kind kp and link), or the first KP of the pair (kind edge)",
    "seed_id": "the seed (kind link and seed: a seed is new with its first link, gone with its last)",
    "kp_b": "the second KP of the pair (kind edge)",
    "weight": "the pair's new weight (kind edge, null when gone)",
    "old_weight": "the pair's weight before (kind edge, null when new)",
    "disciplines": "the disciplines a changed KP had before (kind kp)",
}

_LLM_ITEM = {
    "stage": "LLM stage of the call (kp_extraction, qa_synthesis, difficulty_judge, difficulty_rewrite, "
             "answer_verification)",
    "partition_key": "the writing asset's partition (discipline) the item belongs to",
    "item_id": "the item asked about: a seed_id, a path_id, or a qa_id (qa_id#n for the n-th of k readings)",
    "request_key": "hash of the request in the LLM result store",
}

LLM_FAILURES = {
    **_LLM_ITEM,
    "model": "litellm model id that was asked",
    "prompt_version": "version id of the prompt (name and content hash)",
    "error_class": "class of the last error (e.g. a timeout, or a reply that failed its schema)",
    "message": "the last error's message",
    "attempts": "calls made before giving up",
}

LLM_USAGE = {
    **_LLM_ITEM,
    "discipline": "discipline the cost is counted to: the seed's for KP extraction, the path's start "
                  "discipline for synthesis, judging, rewrites and verification",
    "path_id": "the path the item belongs to (null for KP extraction, and for a judge call that read the items "
               "of several paths: its item_id lists their qa_ids)",
    "model": "litellm model id that answered",
    "prompt_tokens": "prompt tokens of the answer",
    "completion_tokens": "completion tokens of the answer",
    "reasoning_tokens": "reasoning tokens of the answer (part of the completion)",
    "cost_usd": "cost of the answer in USD",
    "attempts": "calls it took to get the answer",
    "from_store": "whether this run took the answer from the LLM result store (paid by an earlier run)",
}

DATASET_DROPS = {
    "qa_id": "the item left out of the release (verified_qa.qa_id)",
    "duplicate_of": "what it duplicates or copies: the kept item, the source seed or the benchmark item "
                    "(null for other reasons)",
    "reason": "why it was left out: verifier_disagrees, verifier_no_majority, unverified, unusable (answer_missing, "
              "answer_not_in_choices, duplicate_choices, empty_choice), copies_source_seed, exact_duplicate, "
              "benchmark_contamination, near_duplicate or cell_full",
}

DECONTAMINATION_HITS = {
    "stage": "the asset that checked the item: seed_qa (seeds) or linkqa_dataset (release items)",
    "partition_key": "the checked partition (discipline), or all for the release",
    "item_id": "the seed_id or qa_id that overlaps a benchmark item",
    "benchmark_id": "the benchmark item it matched (<file name>:<row>)",
    "benchmark_file": "benchmark file of that item",
    "benchmark_row": "1-based line (CSV, JSONL) or row (Parquet) of the item in that file",
    "benchmark_question": "the benchmark item's question",
    "method": "how it matched: ngram, near_duplicate or ngram+near_duplicate",
    "matched_ngram": "one shared n-gram (normalized), null if none",
    "overlap_count": "distinct n-grams of the benchmark text found in the item",
    "overlap_fraction": "overlap_count over the benchmark text's n-grams",
    "similarity": "MinHash estimate of the Jaccard similarity of the whole items",
}

# distribution_report's table (in its markdown and HTML files): one row per discipline x level
REPORT_CELLS = {
    "discipline": "a discipline with a target share or with released items",
    "level": "difficulty level 1-5, or unjudged",
    "target_items": "items the release should hold in the cell (discipline share x level share x items wanted)",
    "items": "items the release holds in the cell",
    "shortfall": "target_items minus items, at least 0",
    "why_short": "why a cell short by an item or more is short, as the release said",
}

RUN_ESTIMATE = {
    "stage": "the LLM stage",
    "calls": "LLM calls the run was expected to make in the stage (answered by the model or from the result store)",
    "prompt_tokens": "prompt tokens expected in the stage",
    "completion_tokens": "completion tokens expected in the stage (reasoning included)",
    "cost_usd": "expected cost in USD (null: no price known for the model)",
    "basis": "where the tokens per call come from: measured here (this data dir's earlier runs) or defaults",
    "seeds": "seeds the estimate counts a KP extraction for",
    "paths": "paths the estimate counts, the plan's rounds included",
    "paths_basis": "how the paths were counted (the walk settings, the token budget, the growth by rounds)",
}
