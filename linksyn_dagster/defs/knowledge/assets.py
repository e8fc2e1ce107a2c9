"""seed_kps (per discipline): knowledge points an LLM extracts from each seed;
knowledge_points (global): the canonical KPs, their popularity, links and co-occurrences."""


import datetime as dt
from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.canonical import canonicalize_kps
from linksyn_dagster.core.cooccurrence import EDGE_SCHEMA, cooccurrence_edges
from linksyn_dagster.core.prompting import format_choices, schema_text
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.defs.llm_stage import LLMTables, llm_writer_asset, usage_metadata
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import side_table_materialization, side_table_spec, table_metadata
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

SEED_KPS_SCHEMA = {
    "seed_id": pl.Utf8, "discipline": pl.Utf8, "kp_rank": pl.Int32, "kp_name": pl.Utf8,
    "kp_discipline": pl.Utf8, "model": pl.Utf8, "prompt_version": pl.Utf8, "request_key": pl.Utf8,
    "extracted_at": pl.Datetime("us"),
}
LINK_SCHEMA = {"seed_id": pl.Utf8, "kp_id": pl.Utf8}

seed_kp_links = side_table_spec(
    SEED_KP_LINKS, "Which canonical KPs each seed holds (seed → KP), from every discipline's extracted KPs: the "
    "(:Seed)-[:HAS_KP]->(:KnowledgePoint) edges of kp_graph, and the seeds walk_plan pulls along a path. Written "
    "by knowledge_points, whole, with the KPs.", columns.SEED_KP_LINKS, LINK_SCHEMA,
    written_by="knowledge_points", group_name="knowledge",
    deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())])
kp_cooccurrence = side_table_spec(
    KP_COOCCURRENCE, "Pairs of canonical KPs held by the same seeds, weighted by the number of seeds holding both: "
    "the [:CO_OCCURS] edges of kp_graph, which the walks follow. Written by knowledge_points, whole, from "
    "seed_kp_links.", columns.KP_COOCCURRENCE, EDGE_SCHEMA, written_by="knowledge_points",
    group_name="knowledge", deps=[SEED_KP_LINKS])


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
    ins={"seed_kps": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    automation_condition=runs_after("seed_kps", every_partition=True),
    check_specs=[
        dg.AssetCheckSpec(CHECK_UNIQUE_KP_IDS, asset="knowledge_points", description="no kp_id twice"),
        dg.AssetCheckSpec(CHECK_KPS_PRESENT, asset="knowledge_points", description="at least one KP"),
    ],
)
def knowledge_points(context: dg.AssetExecutionContext, seed_kps: pl.DataFrame,
                     warehouse: WarehouseResource) -> Iterator:
    """Canonical knowledge points over all disciplines: spelling, case, plural, alias and
    near-duplicate variants merged; frequency = number of seeds naming the KP (popularity).
    Also writes `seed_kp_links` (seed → KP) and `kp_cooccurrence` (KP pairs with the number
    of seeds holding both), which kp_graph loads into Neo4j."""
    rows = seed_kps.select(
        "seed_id", pl.col("discipline").alias("seed_discipline"), "kp_name", "kp_discipline", "extracted_at")
    kps, links = canonicalize_kps(rows)
    edges = cooccurrence_edges(links)
    links, edges = links.select(list(LINK_SCHEMA)), edges.select(list(EDGE_SCHEMA))
    warehouse.replace(SEED_KP_LINKS, links)
    warehouse.replace(KP_COOCCURRENCE, edges)
    duplicate_ids = kps.height - kps.get_column("kp_id").n_unique()
    yield dg.Output(kps, metadata={
        **table_metadata(kps, columns.KNOWLEDGE_POINTS,
                         ["kp_id", "name", "frequency", "primary_discipline", "aliases"]),
        "raw_kp_mentions": rows.height,
        "seed_kp_links": links.height,
        "cooccurrence_edges": edges.height,
        "merged_variants": int(rows.select(pl.col("kp_name")).n_unique() - kps.height),
    })
    yield side_table_materialization(SEED_KP_LINKS, links, columns.SEED_KP_LINKS)
    yield side_table_materialization(KP_COOCCURRENCE, edges, columns.KP_COOCCURRENCE)
    yield dg.AssetCheckResult(check_name=CHECK_UNIQUE_KP_IDS, passed=duplicate_ids == 0,
                              metadata={"duplicate_ids": duplicate_ids})
    yield dg.AssetCheckResult(check_name=CHECK_KPS_PRESENT, passed=kps.height > 0,
                              metadata={"knowledge_points": kps.height})
