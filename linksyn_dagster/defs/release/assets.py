"""linkqa_dataset: the deduplicated release with its files (built by publish/release_build.py,
written by publish/release.py); distribution_report: what the release holds against the
targets (publish/report.py). The assets read the warehouse, call those, write the side tables
and return the metadata and checks."""

import hashlib
from pathlib import Path
from typing import Any, Iterator

import dagster as dg
import polars as pl
import tiktoken

from linksyn_dagster.core import decontam as decontam_module, neardup as neardup_module, tokens as tokens_module
from linksyn_dagster.core.decontam import checked_against_benchmarks
from linksyn_dagster.core.row_memo import entry_dir
from linksyn_dagster.core.tokens import TOKENIZER
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.llm_stage import LLM_FAILURES, LLM_USAGE, llm_table_deps
from linksyn_dagster.defs.metadata import column_schema, side_table_materialization, side_table_spec, table_metadata
from linksyn_dagster.defs.decontamination import HITS, benchmark_fingerprint, benchmark_index, record_hits
from linksyn_dagster.defs.paths.assets import RUN_ESTIMATE
from linksyn_dagster.publish.provenance import release_provenance
from linksyn_dagster.publish.release import write_release
from linksyn_dagster.publish.release_build import DROP_SCHEMA, build_release, wanted_seeds
from linksyn_dagster.publish.release_cells import CELL_COLUMNS, ReleaseCells
from linksyn_dagster.publish.charts import png_markdown
from linksyn_dagster.publish.report import build_report, release_targets
from linksyn_dagster.publish.report_files import write_report_files
from linksyn_dagster.publish.report_items import items_markdown, items_to_look_at, pick_items, picked_seed_ids
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.settings import SECTIONS, SettingsResource
from linksyn_dagster.defs.automation import runs_after, with_its_asset

CHECK_UNIQUE_QA_IDS = "unique_qa_ids"
CHECK_PROVENANCE = "every_item_traces_to_seeds_and_paths"
CHECK_NO_CONTAMINATION = "no_benchmark_contamination"
CHECK_DISCIPLINES_ON_TARGET = "release_disciplines_on_target"
CHECK_DIFFICULTY_ON_TARGET = "release_difficulty_on_target"

ALL = dg.AllPartitionMapping()
DATASET_DROPS = "dataset_drops"
ITEM_CACHE = "release_cache"  # under the data dir: scores of each item on its own, per fingerprint
# metadata keys the next round reads (defs/release/rounds.py, pipeline.py)
NEXT_ROUND = "next_round_request"
PLAN_ROUNDS_READ = "walk_plan_rounds_read"
# distribution_report's table: one row per discipline x difficulty level (publish/report.py difficulty_cells)
REPORT_CELL_SCHEMA = {"discipline": pl.Utf8, "level": pl.Utf8, "target_items": pl.Float64, "items": pl.Int64,
                      "shortfall": pl.Float64, "why_short": pl.Utf8}

dataset_drops = side_table_spec(
    DATASET_DROPS, "Every verified item left out of the release and why (the verifier did not confirm it, "
    "unusable, a copy of its own source seed, an exact or near duplicate, benchmark contamination, its cell "
    "full), with the item, seed or benchmark item it duplicates. Written by linkqa_dataset, whole, with each "
    "release.", columns.DATASET_DROPS, DROP_SCHEMA, written_by="linkqa_dataset", group_name="release",
    deps=[dg.AssetDep(key, partition_mapping=ALL) for key in ("verified_qa", "kp_paths", "seed_qa")])


def cells_metadata(cells: ReleaseCells) -> dict[str, Any]:
    """The release's cells as its metadata: sizing, the cells table, the shortfall and the
    next round's request."""
    return {
        "items_wanted": cells.items_wanted, "tokens_target": cells.tokens_target or 0,
        "tokens_released": cells.tokens_released, "tokenizer": TOKENIZER,
        "cells": dg.MetadataValue.table(
            [dg.TableRecord(row) for row in cells.rows],
            schema=dg.TableSchema(columns=[
                dg.TableColumn(k, "string" if k in ("discipline", "why_short") else "int") for k in CELL_COLUMNS])),
        "cells_short": sum(1 for row in cells.rows if row["shortfall"]),
        "shortfall_items": sum(row["shortfall"] for row in cells.rows),
        "unjudged_items": cells.unjudged,
        NEXT_ROUND: dg.MetadataValue.json(cells.next_round),
        PLAN_ROUNDS_READ: cells.plan_rounds,
    }


def item_cache(settings) -> Path:
    """Where the release keeps what it scored of each item on its own (copies of its source
    seeds, overlap with the evaluation sets, tokens), so a run scores only the items it has not
    seen: a directory per fingerprint of everything those scores read besides the item (the
    evaluation sets and decontamination settings, the release's near-duplicate settings, the
    tokenizer, the code that scores, polars). Source seeds are named by content-hash ids, so
    an item's seed ids stand for their texts."""
    release = settings.release
    digest = hashlib.sha256((benchmark_fingerprint(settings.decontam, release) if settings.decontam.benchmark_paths
                             else "no benchmarks").encode())
    digest.update(repr((release.near_dup_threshold, release.near_dup_shingle_size, release.near_dup_num_perm,
                        TOKENIZER, tiktoken.__version__, pl.__version__)).encode())
    for module in (decontam_module, neardup_module, tokens_module):
        digest.update(Path(module.__file__).read_bytes())
    return entry_dir(settings.data_dir / ITEM_CACHE, digest.hexdigest()[:24])


@dg.asset(
    kinds={"duckdb", "polars", "parquet"},
    group_name="release",
    ins={"verified_qa": dg.AssetIn(partition_mapping=ALL)},
    deps=[dg.AssetDep("synthesized_qa", partition_mapping=ALL), dg.AssetDep("kp_paths", partition_mapping=ALL),
          dg.AssetDep("seed_qa", partition_mapping=ALL), dg.AssetDep([HITS, "seed_qa"], partition_mapping=ALL),
          *llm_table_deps(LLM_USAGE)],
    automation_condition=runs_after("verified_qa", every_partition=True),
    check_specs=[
        dg.AssetCheckSpec(CHECK_UNIQUE_QA_IDS, asset="linkqa_dataset", description="no qa_id twice"),
        dg.AssetCheckSpec(CHECK_PROVENANCE, asset="linkqa_dataset",
                          description="every item's source seeds exist in seed_qa and its path in kp_paths"),
    ],
)
def linkqa_dataset(context: dg.AssetExecutionContext, verified_qa: pl.DataFrame,
                   warehouse: WarehouseResource, settings: SettingsResource, llm: LLMResource) -> Iterator:
    """The release: the chosen version of every path's item, in every discipline, cleaned in
    this order: items the verifier did not confirm (no majority of its k answers equal to the
    key: `verifier_disagrees`, `verifier_no_majority`, `unverified`), unusable items (no
    answer, an answer that is not one of the choices, duplicate or empty choices),
    near-copies of one of the item's own source seeds (LinkSyn writes new questions, it does
    not paraphrase seeds), exact duplicates (same normalized question and answer), items
    overlapping an evaluation set (13-gram coverage or a MinHash near-copy; see
    `decontamination_hits`), then near-duplicates (MinHash-LSH over question and answer, one
    kept per cluster); then each discipline x difficulty cell keeps at most its target, the
    earliest rounds' items first (`cell_full`; LINKSYN_RELEASE__FILL_CELLS), and the metadata
    says what the next round should walk for the cells still short (`next_round_request`).
    Every removal is in `dataset_drops` with its reason. Each item carries `quality_flags`
    and its `tokens`. Exported to `<data dir>/release/<version>/` as Parquet and JSONL (with a
    `text` column rendered by the versioned pre-training template) and a chat export
    (`linkqa_messages.parquet`/`.jsonl`), with a Hugging Face dataset card and a manifest that record how
    it was made (git commit, settings with secrets masked, prompt, template and graph
    versions, model ids); `release/latest` points at it. The LLM resource is read for its
    settings only: the release calls no model."""
    settings = settings.value
    wanted = wanted_seeds(verified_qa)
    benchmarks = benchmark_index(settings.decontam, settings.release)
    build = build_release(
        verified_qa, seeds=warehouse.query("seeds_by_ids", frames={"wanted_seeds": wanted}) if wanted.height else None,
        seed_language=warehouse.query("seed_languages"), benchmarks=benchmarks,
        paths=warehouse.query("paths_asked"), settings=settings, cache_dir=item_cache(settings))
    dataset, cells = build.dataset, build.cells
    written = [record_hits(warehouse, "linkqa_dataset", None, build.hits)]
    warehouse.replace(DATASET_DROPS, build.drops)
    written.append(side_table_materialization(DATASET_DROPS, build.drops, columns.DATASET_DROPS))
    summary = build.summary(settings, contaminated_seeds=int(warehouse.query("contaminated_seeds").item()),
                            seed_sources=dict(warehouse.query("seed_sources").iter_rows()))
    graph_versions = dict(warehouse.query("release_graph_versions", frames={"dataset": dataset}).iter_rows())
    provenance = release_provenance(settings.model_copy(update={"llm": llm.llm_settings}), (*SECTIONS, "llm"),
                                    graph_versions)
    files = write_release(dataset, settings.release_dir, summary, provenance=provenance)
    orphans = warehouse.query("release_orphans", frames={"dataset": dataset}).row(0, named=True)
    usage = warehouse.query("usage_by_stage")
    yield dg.Output(dataset, metadata={
        **table_metadata(dataset, columns.RELEASE, ["qa_id", "discipline", "variant", "difficulty", "question"]),
        "verifier_dropped": build.verifier_dropped,
        "verdicts": dg.MetadataValue.json(dict(summary.verdicts)),
        "unusable_dropped": sum(build.unusable.values()),
        "source_copies_dropped": build.source_copies,
        "exact_duplicates_dropped": build.exact_duplicates,
        "near_duplicates_dropped": build.near_duplicates,
        "cell_full_dropped": build.cell_full,
        **cells_metadata(cells),
        # what the data behind this release cost so far (a round's cost: the difference from the last)
        "llm_calls": int(usage.get_column("calls").sum() or 0) if usage.height else 0,
        "llm_tokens": int((usage.get_column("prompt_tokens") + usage.get_column("completion_tokens")).sum() or 0)
        if usage.height else 0,
        "benchmark_contaminated_dropped": summary.contaminated,
        "items_with_quality_flags": int((dataset.get_column("quality_flags").list.len() > 0).sum()),
        "quality_flags": dg.MetadataValue.json(dict(summary.quality_flags)),
        "release_version": files.version,
        "git_commit": provenance.code.commit or "unknown",
        "graph_versions": dg.MetadataValue.json(graph_versions),
        "release_dir": dg.MetadataValue.path(str(files.directory)),
        "dataset_card": dg.MetadataValue.md(files.card.read_text(encoding="utf-8")),
    })
    yield from written
    duplicates = dataset.height - dataset.get_column("qa_id").n_unique()
    yield dg.AssetCheckResult(check_name=CHECK_UNIQUE_QA_IDS, passed=duplicates == 0,
                              metadata={"duplicate_ids": duplicates})
    yield dg.AssetCheckResult(check_name=CHECK_PROVENANCE,
                              passed=orphans["missing_seeds"] == 0 and orphans["missing_paths"] == 0,
                              metadata={k: int(v) for k, v in orphans.items()})


@dg.asset_check(asset="linkqa_dataset", name=CHECK_NO_CONTAMINATION, blocking=True,
                automation_condition=with_its_asset(),
                description="no released item overlaps an evaluation set of LINKSYN_DECONTAM__BENCHMARK_PATHS; "
                            "blocking: the report waits for it. Re-run it alone after adding an evaluation set")
def no_benchmark_contamination(warehouse: WarehouseResource, settings: SettingsResource) -> dg.AssetCheckResult:
    settings = settings.value
    benchmarks = benchmark_index(settings.decontam, settings.release)
    if benchmarks is None:
        return dg.AssetCheckResult(passed=True, metadata={"benchmarks": "none configured"})
    # the released items this check found clean before come from its cache entry
    remaining, _ = checked_against_benchmarks(warehouse.query("release_items"), benchmarks[1], "qa_id",
                                              item_cache(settings), "released")
    return dg.AssetCheckResult(passed=remaining.height == 0, metadata={
        "contaminated_items_in_release": remaining.get_column("item_id").n_unique(),
        "benchmarks": f"{benchmarks[0].items.height} items"})


def _release_sizing(context: dg.AssetExecutionContext) -> tuple[int | None, dict[tuple[str, str], str]]:
    """The items the release was sized to and why each short cell is short (its latest
    materialization's metadata)."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey("linkqa_dataset"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    wanted = metadata.get("items_wanted")
    cells = metadata.get("cells")
    why = {(r.data["discipline"], str(r.data["level"])): r.data.get("why_short") or ""
           for r in (cells.records if cells is not None else [])}
    return (int(wanted.value) if wanted is not None else None), why


@dg.asset(
    kinds={"duckdb"},
    group_name="release",
    deps=["linkqa_dataset", "knowledge_points", dg.AssetDep("kp_paths", partition_mapping=ALL),
          dg.AssetDep("seed_qa", partition_mapping=ALL), DATASET_DROPS, RUN_ESTIMATE, *llm_table_deps(LLM_USAGE),
          *llm_table_deps(LLM_FAILURES)],
    metadata={"dagster/column_schema": column_schema(pl.DataFrame(schema=REPORT_CELL_SCHEMA), columns.REPORT_CELLS)},
    automation_condition=runs_after("linkqa_dataset"),
    check_specs=[
        dg.AssetCheckSpec(CHECK_DISCIPLINES_ON_TARGET, asset="distribution_report",
                          description="the released items' discipline shares are within "
                                      "LINKSYN_RELEASE__DISCIPLINE_L1_TOLERANCE (L1) of the target distribution"),
        dg.AssetCheckSpec(CHECK_DIFFICULTY_ON_TARGET, asset="distribution_report",
                          description="the released items' difficulty shares are within "
                                      "LINKSYN_RELEASE__DIFFICULTY_L1_TOLERANCE (L1) of the difficulty mix"),
    ],
)
def distribution_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        settings: SettingsResource) -> Iterator:
    """Discipline and difficulty distributions of the release against their targets, KP
    coverage and popularity balance (Gini of KP usage), LLM failures, tokens and cost, and the
    calls, tokens and cost estimated before the calls (`run_estimate`) against those made; as
    markdown and charts here, and as `<data dir>/reports/distribution_report.{md,json,html}`
    (the HTML file is self-contained) with the chart PNGs in `reports/charts/`, and a few items
    per discipline to look at (`items_to_look_at`: question, choices and key, KP chain, source
    seeds with file:line, difficulty judged, verdict). Its table (the
    column schema) is the discipline × difficulty one: each cell's target against the items
    released, and why a short cell is short."""
    settings = settings.value
    warehouse.ensure_schema()
    dataset = warehouse.query("release_items")
    paths = warehouse.query("all_paths")
    kps = warehouse.query("all_knowledge_points")
    seeds = dict(warehouse.query("seeds_per_discipline").iter_rows())
    failures = dict(warehouse.query("failures_per_stage").iter_rows())
    discipline_target, mixes = release_targets(paths, seeds, settings.synthesis)
    items_wanted, why = _release_sizing(context)
    usage_by_discipline = warehouse.query("usage_by_discipline")
    report = build_report(dataset, seeds, paths, kps, discipline_target, mixes,
                          failures, {row.pop("stage"): row for row in warehouse.query("usage_by_stage").to_dicts()},
                          usage_by_discipline, warehouse.query("usage_by_path"),
                          dict(warehouse.query("drops_by_reason").iter_rows()),
                          tokens_target=settings.release.target_tokens, items_wanted=items_wanted, why_short=why,
                          estimate=warehouse.query(RUN_ESTIMATE).to_dicts())
    picked = pick_items(dataset)
    wanted = picked_seed_ids(picked)
    items = items_to_look_at(picked, warehouse.query("report_item_seeds", frames={"wanted_seeds": wanted}), kps)
    files = write_report_files(settings.data_dir / "reports", report, dataset, paths, kps, discipline_target,
                               usage_by_discipline, items)

    # targets on the release, not on the paths: what failed, was dropped or judged off level counts
    discipline_l1, difficulty_l1 = report.discipline_l1, report.difficulty_l1
    tolerances = settings.release
    yield dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(report.markdown),
        "items_to_look_at": dg.MetadataValue.md(items_markdown(items, heading="# Items to look at")),
        **{f"chart/{name}": dg.MetadataValue.md(png_markdown(path, alt=name)) for name, path in files.charts.items()},
        "report_file": dg.MetadataValue.path(str(files.markdown)),
        "html_report": dg.MetadataValue.path(str(files.html)),
        **{f"summary/{k}": v for k, v in report.summary.items()},
    })
    # WARN: the release is measured against its targets; further rounds (the plan's max_rounds) fill what they can
    yield dg.AssetCheckResult(
        check_name=CHECK_DISCIPLINES_ON_TARGET, passed=bool(dataset.height) and
        discipline_l1 <= tolerances.discipline_l1_tolerance, severity=dg.AssetCheckSeverity.WARN,
        metadata={"l1": round(discipline_l1, 4), "tolerance": tolerances.discipline_l1_tolerance,
                  "items": dataset.height})
    yield dg.AssetCheckResult(
        check_name=CHECK_DIFFICULTY_ON_TARGET, passed=bool(dataset.height) and
        difficulty_l1 <= tolerances.difficulty_l1_tolerance, severity=dg.AssetCheckSeverity.WARN,
        metadata={"l1": round(difficulty_l1, 4), "tolerance": tolerances.difficulty_l1_tolerance,
                  "items": dataset.height})
