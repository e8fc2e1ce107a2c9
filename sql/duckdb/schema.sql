-- Side tables the assets keep beside their outputs (asset outputs themselves are created by
-- the DuckDB IO manager). Idempotent: run before every write.

-- Seed rows that could not be loaded, with where and why (replaced on every seed_qa run).
CREATE TABLE IF NOT EXISTS seed_rejects (
    source_file VARCHAR NOT NULL,
    source_line BIGINT,
    field VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
);

-- Every item an LLM stage could not complete, per stage and partition (nothing is dropped
-- silently; the durable copy lives in the LLM result store).
CREATE TABLE IF NOT EXISTS llm_failures (
    stage VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    request_key VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    prompt_version VARCHAR NOT NULL,
    error_class VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    attempts INTEGER NOT NULL
);

-- Which canonical KPs each seed holds (written by knowledge_points).
CREATE TABLE IF NOT EXISTS seed_kp_links (
    seed_id VARCHAR NOT NULL,
    kp_id VARCHAR NOT NULL
);

-- KP co-occurrence edges: weight = number of seeds holding both (written by knowledge_points).
CREATE TABLE IF NOT EXISTS kp_cooccurrence (
    kp_a VARCHAR NOT NULL,
    kp_b VARCHAR NOT NULL,
    weight BIGINT NOT NULL
);

-- Every KP name with its key, KP, disciplines and near-duplicate blocks (written by knowledge_points).
CREATE TABLE IF NOT EXISTS kp_names (
    kp_name VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    kp_id VARCHAR NOT NULL,
    disciplines VARCHAR[] NOT NULL,
    compact VARCHAR,
    tokens VARCHAR,
    variants VARCHAR[] NOT NULL
);

-- Distinct seeds per surface form and per discipline of every KP (written by knowledge_points).
CREATE TABLE IF NOT EXISTS kp_counts (
    kp_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    seeds BIGINT NOT NULL
);

-- What the last run of knowledge_points changed, for kp_graph (written by knowledge_points, whole).
CREATE TABLE IF NOT EXISTS kp_changes (
    from_state VARCHAR,
    to_state VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    change VARCHAR,
    kp_id VARCHAR,
    seed_id VARCHAR,
    kp_b VARCHAR,
    weight BIGINT,
    old_weight BIGINT,
    disciplines VARCHAR[]
);

-- Items left out of the release and why (written by linkqa_dataset).
CREATE TABLE IF NOT EXISTS dataset_drops (
    qa_id VARCHAR NOT NULL,
    duplicate_of VARCHAR,
    reason VARCHAR NOT NULL
);

-- Tokens and cost of every LLM answer behind the data, per stage and partition, with the
-- discipline and path it belongs to (cost per discipline and per path in the report).
CREATE TABLE IF NOT EXISTS llm_usage (
    stage VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    discipline VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    path_id VARCHAR,
    request_key VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_usd DOUBLE NOT NULL,
    attempts INTEGER NOT NULL,
    from_store BOOLEAN NOT NULL
);

-- Seeds and release items that overlap an evaluation benchmark (LINKSYN_DECONTAM__*), each
-- with the benchmark item it matched; they are left out of seed_qa / the release.
CREATE TABLE IF NOT EXISTS decontamination_hits (
    stage VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    benchmark_id VARCHAR NOT NULL,
    benchmark_file VARCHAR NOT NULL,
    benchmark_row BIGINT,
    benchmark_question VARCHAR,
    method VARCHAR NOT NULL,
    matched_ngram VARCHAR,
    overlap_count BIGINT,
    overlap_fraction DOUBLE,
    similarity DOUBLE
);

-- The LLM calls, tokens and cost per stage the walk plan's run was expected to need, made
-- before any path's call (written by walk_plan with a plan's first round; the report sets it
-- against llm_usage).
CREATE TABLE IF NOT EXISTS run_estimate (
    stage VARCHAR NOT NULL,
    calls BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost_usd DOUBLE,
    basis VARCHAR NOT NULL,
    seeds BIGINT NOT NULL,
    paths BIGINT NOT NULL,
    paths_basis VARCHAR NOT NULL
);
