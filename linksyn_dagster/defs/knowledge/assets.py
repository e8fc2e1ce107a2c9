"""seed_kps (per discipline): knowledge points an LLM extracts from each seed;
knowledge_points (global): the canonical KPs, their popularity, links and co-occurrences."""


import datetime as dt
import itertools
from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.cooccurrence import EDGE_SCHEMA
from linksyn_dagster.core.kp_increment import (
    CHANGE_SCHEMA, COUNT_SCHEMA, KP_NAMES_SCHEMA, MENTIONS, NeedsFullRun, apply_delta, full_run_tables, increment,
    state_is_whole)
from linksyn_dagster.core.prompting import format_choices, schema_text
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.defs.llm_stage import LLMTables, llm_writer_asset, usage_metadata
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import PREVIEW_ROWS, side_table_spec, table_metadata
from linksyn_dagster.defs.automation import runs_after
from linksyn_dagster.llm.types import LLMRequest
from linksyn_dagster.llm.prompts import load_prompt
from linksyn_dagster.llm.schemas import kp_extraction_model
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.warehouse import WarehouseResource

STAGE_KP_EXTRACTION = "kp_extraction"
CHECK_EVERY_SEED_ACCOUNTED = "every_seed_extracted_or_failed"
CHECK_UNIQUE_KP_IDS = "unique_kp_ids"
CHECK_KPS_PRESENT = "knowledge_points_present"
SEED_KP_LINKS = "seed_kp_links"
KP_COOCCURRENCE = "kp_cooccurrence"
KP_NAMES = "kp_names"
KP_CHANGES = "kp_changes"
KP_COUNTS = "kp_counts"
# a run with this tag "true" computes knowledge_points whole (e.g. after seeds were extracted again)
FULL_RUN_TAG = "linksyn/knowledge_full"

SEED_KPS_SCHEMA = {
    "seed_id": pl.Utf8, "discipline": pl.Utf8, "kp_rank": pl.Int32, "kp_name": pl.Utf8,
    "kp_discipline": pl.Utf8, "model": pl.Utf8, "prompt_version": pl.Utf8, "request_key": pl.Utf8,
    "extracted_at": pl.Datetime("us"),
}
LINK_SCHEMA = {"seed_id": pl.Utf8, "kp_id": pl.Utf8}

seed_kp_links = side_table_spec(
    SEED_KP_LINKS, "Which canonical KPs each seed holds (seed → KP), from every discipline's extracted KPs: the "
    "(:Seed)-[:HAS_KP]->(:KnowledgePoint) edges of kp_graph, and the seeds walk_plan pulls along a path. Written "
    "by knowledge_points with the KPs (an increment changes only the rows its seeds change).", columns.SEED_KP_LINKS, LINK_SCHEMA,
    written_by="knowledge_points", group_name="knowledge",
    deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())])
kp_cooccurrence = side_table_spec(
    KP_COOCCURRENCE, "Pairs of canonical KPs held by the same seeds, weighted by the number of seeds holding both: "
    "the [:CO_OCCURS] edges of kp_graph, which the walks follow. Written by knowledge_points from seed_kp_links "
    "(an increment moves the weights of the pairs of the seeds it changes).", columns.KP_COOCCURRENCE, EDGE_SCHEMA, written_by="knowledge_points",
    group_name="knowledge", deps=[SEED_KP_LINKS])
kp_names = side_table_spec(
    KP_NAMES, "Every KP name extracted, with its canonical key, its KP and the disciplines it was seen with, and "
    "the blocking signatures of near-duplicate merging: what an increment of knowledge_points matches new names "
    "against, by lookup. Written by knowledge_points, by rows.", columns.KP_NAMES, KP_NAMES_SCHEMA,
    written_by="knowledge_points", group_name="knowledge",
    deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())])
kp_counts = side_table_spec(
    KP_COUNTS, "Distinct seeds per surface form and per discipline of every KP: what its name and primary "
    "discipline are chosen by, kept so that an increment adds the new seeds' counts instead of counting all "
    "seeds again. Written by knowledge_points, by KP.", columns.KP_COUNTS, COUNT_SCHEMA,
    written_by="knowledge_points", group_name="knowledge",
    deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())])
kp_changes = side_table_spec(
    KP_CHANGES, "What the last run of knowledge_points changed: KPs, links, co-occurrence pairs and seeds, new, "
    "changed or gone, between two knowledge states. kp_graph writes exactly these into a graph that holds the "
    "state they start from, instead of comparing whole tables. Written by knowledge_points, whole, each run.",
    columns.KP_CHANGES, CHANGE_SCHEMA, written_by="knowledge_points", group_name="knowledge",
    deps=[SEED_KP_LINKS, KP_COOCCURRENCE])


@llm_writer_asset(checks={
    CHECK_EVERY_SEED_ACCOUNTED: "every seed has KPs or a row in llm_failures (nothing dropped silently)",
})
def seed_kps(context: dg.AssetExecutionContext, seed_qa: pl.DataFrame, llm: LLMResource,
             warehouse: WarehouseResource) -> Iterator:
    """Knowledge points of every seed of one discipline: one LLM call per seed, a JSON reply
    of 2-8 KPs validated by a pydantic model. Results are kept in the durable LLM store keyed
    by (model, prompt version, request), so a seed already extracted is never asked again."""
    prompt = load_prompt(STAGE_KP_EXTRACTION)
    schema_model = kp_extraction_model()
    schema = schema_text(schema_model.model_json_schema())
    requests = [
        LLMRequest(row["seed_id"], prompt.render(
            disciplines=", ".join(DISCIPLINES), schema=schema, discipline=row["discipline"],
            subject=row["subject"], question=row["question"], choices=format_choices(row["choices"]),
            answer=row["answer"]))
        for row in seed_qa.iter_rows(named=True)
    ]
    client = llm.client(context.log)
    outcomes = client.run(STAGE_KP_EXTRACTION, prompt.version_id, requests, schema_model)
    llm_tables = LLMTables(warehouse, context)
    failed = llm_tables.record(STAGE_KP_EXTRACTION, outcomes)

    rows = []
    for outcome in outcomes:
        if outcome.result is None:
            continue
        extracted_at = dt.datetime.fromtimestamp(outcome.result.created_at)
        for rank, kp in enumerate(outcome.result.parsed["knowledge_points"], start=1):
            rows.append({
                "seed_id": outcome.item_id, "discipline": context.partition_key, "kp_rank": rank,
                "kp_name": kp["name"], "kp_discipline": kp["discipline"], "model": client.model,
                "prompt_version": prompt.version_id, "request_key": outcome.request_key,
                "extracted_at": extracted_at,
            })
    kps = pl.DataFrame(rows, schema=SEED_KPS_SCHEMA)
    extracted = kps.get_column("seed_id").n_unique()
    yield dg.Output(kps, metadata={
        **table_metadata(kps, columns.SEED_KPS, ["seed_id", "kp_rank", "kp_name", "kp_discipline"]),
        **usage_metadata(outcomes), "model": client.model, "prompt_version": prompt.version_id,
        "seeds": seed_qa.height, "seeds_extracted": extracted, "seeds_failed": failed,
    })
    yield from llm_tables.materializations()
    yield llm_tables.yield_check(llm.max_failure_share, llm.low_yield_blocks)
    yield dg.AssetCheckResult(
        check_name=CHECK_EVERY_SEED_ACCOUNTED, passed=extracted + failed == seed_qa.height,
        metadata={"seeds": seed_qa.height, "extracted": extracted, "failed": failed})


@dg.asset(
    kinds={"duckdb", "polars"},
    group_name="knowledge",
    deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())],
    automation_condition=runs_after("seed_kps", every_partition=True),
    check_specs=[
        dg.AssetCheckSpec(CHECK_UNIQUE_KP_IDS, asset="knowledge_points", description="no kp_id twice"),
        dg.AssetCheckSpec(CHECK_KPS_PRESENT, asset="knowledge_points", description="at least one KP"),
    ],
)
def knowledge_points(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
    """Canonical knowledge points over all disciplines: spelling, case, plural, alias and
    near-duplicate variants merged; frequency = number of seeds naming the KP (popularity).
    Also writes `seed_kp_links` (seed → KP), `kp_cooccurrence` (KP pairs with the number
    of seeds holding both), which kp_graph loads into Neo4j, and `kp_names` (every KP name
    with its key and KP).

    Incremental (``core/kp_increment.py``): after a finished run, only the seeds of
    `seed_kps` without links yet are canonicalized, against the KPs there are, and links and
    co-occurrence move by what they change; the tables equal those of a run over all seeds.
    A first run, one after a run stopped half-way or after seeds left `seed_kps`, and a run
    tagged `linksyn/knowledge_full=true` (needed when seeds were extracted again, with other
    KPs under the same ids), compute everything."""
    warehouse.ensure_schema()
    with warehouse.get_connection() as conn:
        forced = context.run.tags.get(FULL_RUN_TAG) == "true"
        mode = "increment" if not forced and state_is_whole(conn) else "full"
        if mode == "increment":
            try:
                delta = increment(conn)
            except NeedsFullRun as why:
                context.log.info(f"knowledge_points: computing whole: {why}")
                mode = "full"
        # what kp_graph writes: the changes from the state the previous run left (none after
        # a full run, which kp_graph loads by comparing tables) to this run's
        previous = conn.execute("SELECT any_value(to_state) FROM kp_changes").fetchone()[0]
        record = pl.concat(
            [pl.DataFrame(schema=CHANGE_SCHEMA), pl.DataFrame({"kind": ["state"]}),
             *([delta.changes] if mode == "increment" else [])], how="diagonal_relaxed",
        ).with_columns(from_state=pl.lit(previous if mode == "increment" else None, pl.Utf8),
                       to_state=pl.lit(context.run.run_id, pl.Utf8)).cast(CHANGE_SCHEMA)
        if mode == "full":
            rows = conn.execute(MENTIONS).pl()
    if mode == "increment":
        with warehouse.editing([KP_COUNTS, KP_NAMES, SEED_KP_LINKS, KP_COOCCURRENCE, KP_CHANGES]) as conn:
            apply_delta(conn, delta, record)
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM seed_kp_links), (SELECT count(*) FROM kp_cooccurrence),"
                " (SELECT count(*) FROM kp_names), (SELECT count(*) FROM kp_counts)").fetchone()
        kps = delta.kps
        changes = {f"increment/{k}": v for k, v in delta.counts().items()}
        changes["increment/new_seeds"] = delta.new_seeds
    else:
        changes = {"raw_kp_mentions": rows.height}
        # each table is made once the one before is written and let go, and the mentions
        # go once canonicalized (at 1M seeds: 4.5M mentions, 4.5M links and 7M edges would
        # otherwise all be held at once); kp_changes, which kp_graph reads, last
        tables = full_run_tables(rows)
        del rows
        _, kps = next(tables)
        heads, heights = {}, {}
        for table, frame in itertools.chain(tables, [(KP_CHANGES, record)]):
            warehouse.replace(table, frame)
            heads[table], heights[table] = frame.head(PREVIEW_ROWS), frame.height
            del frame
        counts = tuple(heights[table] for table in (SEED_KP_LINKS, KP_COOCCURRENCE, KP_NAMES, KP_COUNTS))
    duplicate_ids = kps.height - kps.get_column("kp_id").n_unique()
    yield dg.Output(kps, metadata={
        **table_metadata(kps, columns.KNOWLEDGE_POINTS,
                         ["kp_id", "name", "frequency", "primary_discipline", "aliases"]),
        "mode": mode, **changes,
        "seed_kp_links": counts[0],
        "cooccurrence_edges": counts[1],
        "merged_variants": counts[2] - kps.height,
    })
    # each side table: its rows, column schema and the first rows as a preview (read back
    # after an increment, which wrote only its changes)
    side = ((SEED_KP_LINKS, counts[0], columns.SEED_KP_LINKS), (KP_COOCCURRENCE, counts[1], columns.KP_COOCCURRENCE),
            (KP_NAMES, counts[2], columns.KP_NAMES), (KP_COUNTS, counts[3], columns.KP_COUNTS),
            (KP_CHANGES, record.height, columns.KP_CHANGES))
    if mode == "increment":
        with warehouse.get_connection() as conn:
            heads = {table: conn.execute(f"SELECT * FROM {table} LIMIT $rows", {"rows": PREVIEW_ROWS}).pl()
                     for table, _, _ in side}
    for key, rows, descriptions in side:
        yield dg.AssetMaterialization(dg.AssetKey(key), metadata={
            **table_metadata(heads[key].head(PREVIEW_ROWS), descriptions), "dagster/row_count": rows, "mode": mode})
    yield dg.AssetCheckResult(check_name=CHECK_UNIQUE_KP_IDS, passed=duplicate_ids == 0,
                              metadata={"duplicate_ids": duplicate_ids})
    yield dg.AssetCheckResult(check_name=CHECK_KPS_PRESENT, passed=kps.height > 0,
                              metadata={"knowledge_points": kps.height})
