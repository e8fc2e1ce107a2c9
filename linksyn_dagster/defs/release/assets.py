"""linkqa_dataset: the deduplicated release with its files; distribution_report: what the
release holds against the targets."""


from dataclasses import dataclass
from typing import Any, Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.control import (
    cap_cells, cell_rows, cell_targets, items_for_tokens, round_request, shortfall, why_short,
)
from linksyn_dagster.core.difficulty import mix_for
from linksyn_dagster.core.quotas import plan_asks, plan_params, plan_quotas
from linksyn_dagster.core.tokens import TOKENIZER, qa_tokens
from linksyn_dagster.core.decontam import HIT_SCHEMA, decontaminate, find_contamination
from linksyn_dagster.core.dedup import exact_dedup
from linksyn_dagster.core.neardup import near_dedup, source_copies
from linksyn_dagster.core.quality import flag_counts, quality_flags, seed_languages, unusable_reason
from linksyn_dagster.core.verification import AGREES, UNVERIFIED
from linksyn_dagster.defs.synthesis.assets import NOT_VERIFIED
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.llm_stage import LLM_FAILURES, LLM_USAGE, llm_table_deps
from linksyn_dagster.defs.metadata import column_schema, side_table_materialization, side_table_spec, table_metadata
from linksyn_dagster.defs.decontamination import HITS, benchmark_index, record_hits
from linksyn_dagster.publish.release import ReleaseSummary, write_release
from linksyn_dagster.publish.charts import png_markdown
from linksyn_dagster.publish.report import build_report
from linksyn_dagster.publish.report_files import write_report_files
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.settings import SettingsResource
from linksyn_dagster.defs.automation import runs_after, with_its_asset

CHECK_UNIQUE_QA_IDS = "unique_qa_ids"
CHECK_PROVENANCE = "every_item_traces_to_seeds_and_paths"
CHECK_NO_CONTAMINATION = "no_benchmark_contamination"
CHECK_DISCIPLINES_ON_TARGET = "release_disciplines_on_target"
CHECK_DIFFICULTY_ON_TARGET = "release_difficulty_on_target"

CELL_FULL = "cell_full"
ALL = dg.AllPartitionMapping()
ANSWER_INDEX = {letter: index for index, letter in enumerate("ABCDEFGHIJ")}
DATASET_DROPS = "dataset_drops"
DROP_SCHEMA = {"qa_id": pl.Utf8, "duplicate_of": pl.Utf8, "reason": pl.Utf8}
# distribution_report's table: one row per discipline x difficulty level (publish/report.py difficulty_cells)
REPORT_CELL_SCHEMA = {"discipline": pl.Utf8, "level": pl.Utf8, "target_items": pl.Float64, "items": pl.Int64,
                      "shortfall": pl.Float64, "why_short": pl.Utf8}

dataset_drops = side_table_spec(
    DATASET_DROPS, "Every verified item left out of the release and why (the verifier did not confirm it, "
    "unusable, a copy of its own source seed, an exact or near duplicate, benchmark contamination, its cell "
    "full), with the item, seed or benchmark item it duplicates. Written by linkqa_dataset, whole, with each "
    "release.", columns.DATASET_DROPS, DROP_SCHEMA, written_by="linkqa_dataset", group_name="release",
    deps=[dg.AssetDep(key, partition_mapping=ALL) for key in ("verified_qa", "kp_paths", "seed_qa")])


def _source_copies(items: pl.DataFrame, warehouse: WarehouseResource, threshold: float,
                   shingles: tuple[int, int]) -> pl.DataFrame:
    """The items (``qa_id``, ``seed_id``, ``similarity``) that near-copy one of their own
    source seeds: question and answer, shingled as the release dedup does."""
    wanted = items.select(pl.col("source_seed_ids").explode().drop_nulls().unique().alias("seed_id"))
    seeds = warehouse.query("seeds_by_ids", frames={"wanted_seeds": wanted}) if wanted.height else None
    if seeds is None or seeds.is_empty():
        return pl.DataFrame(schema={"qa_id": pl.Utf8, "seed_id": pl.Utf8, "similarity": pl.Float64})
    text = pl.concat_str("question", pl.lit(" "), pl.coalesce("answer_text", "answer").fill_null(""))
    return source_copies(items.select("qa_id", "source_seed_ids", text.alias("text")),
                         seeds.select("seed_id", text.alias("text")), threshold=threshold, ngram_range=shingles)


@dataclass(frozen=True)
class ReleaseCells:
    """The release against its discipline x difficulty cells (see core/control.py)."""

    items_wanted: int
    tokens_target: int | None
    tokens_released: int
    rows: list[dict]
    next_round: dict[str, dict[str, int]]
    unjudged: int
    plan_rounds: int  # further rounds of the walk plan the release was built from

    def metadata(self) -> dict[str, Any]:
        return {
            "items_wanted": self.items_wanted, "tokens_target": self.tokens_target or 0,
            "tokens_released": self.tokens_released, "tokenizer": TOKENIZER,
            "cells": dg.MetadataValue.table(
                [dg.TableRecord(row) for row in self.rows],
                schema=dg.TableSchema(columns=[
                    dg.TableColumn(k, "string" if k in ("discipline", "why_short") else "int") for k in CELL_COLUMNS])),
            "cells_short": sum(1 for row in self.rows if row["shortfall"]),
            "shortfall_items": sum(row["shortfall"] for row in self.rows),
            "unjudged_items": self.unjudged,
            NEXT_ROUND: dg.MetadataValue.json(self.next_round),
            PLAN_ROUNDS_READ: self.plan_rounds,
        }


CELL_COLUMNS = ("discipline", "level", "target", "asked", "available", "released", "shortfall", "why_short")
NEXT_ROUND = "next_round_request"
PLAN_ROUNDS_READ = "walk_plan_rounds_read"


def _counts(frame: pl.DataFrame, discipline: str, level: str) -> dict[tuple[str, int], int]:
    frame = frame.filter(pl.col(level).is_not_null())
    return {(d, int(lv)): int(n) for d, lv, n in frame.group_by(discipline, level).len().iter_rows()}


def _latest_round_walk(paths: pl.DataFrame, plan: dict) -> dict[str, dict[str, int]]:
    """Per start discipline: the paths the latest round that asked for it wanted
    (``walk_asked``) and those the walk found (``walk_found``)."""
    found = {(d, int(r)): n for d, r, n in paths.group_by("start_discipline", pl.col("round").fill_null(0))
             .len().iter_rows()} if paths.height else {}
    walked: dict[str, dict[str, int]] = {}
    for number, ask in enumerate(plan_asks(plan)):
        for discipline, n in ask.items():
            if n > 0:
                walked[discipline] = {"walk_asked": n, "walk_found": found.get((discipline, number), 0)}
    return walked


def _fill_cells(kept: pl.DataFrame, paths: pl.DataFrame, settings) -> tuple[pl.DataFrame, pl.DataFrame, ReleaseCells]:
    """Hold the clean items to their cells: the items wanted (from the token budget over the
    measured tokens per item, else the plan's first-round paths), split into discipline x
    level targets; each cell keeps its earliest items (first rounds first), the rest are
    returned as the second frame. Without ``fill_cells``, every item is kept and only
    measured. Also: what the next round should walk for the cells still short."""
    release, synthesis = settings.release, settings.synthesis
    # tokens first: a row's count must not depend on the order the join leaves the rows in
    kept = kept.with_columns(qa_tokens(kept)).join(paths.select("path_id", "round"), on="path_id", how="left")
    kept = kept.sort(pl.col("round").fill_null(0), "qa_id")
    plan = plan_params(paths)
    quotas = plan_quotas(plan)
    available_disciplines = plan.get("available") or [d for d, q in quotas.items() if q > 0]
    mixes = {d: mix_for(d, synthesis.difficulty_mix, synthesis.difficulty_mix_by_discipline)
             for d in available_disciplines}
    tokens_per_item = kept.get_column("tokens").mean() if kept.height else None
    if release.target_tokens and tokens_per_item:
        wanted = items_for_tokens(release.target_tokens, float(tokens_per_item))
    else:
        wanted = sum(quotas.values())
    targets = cell_targets(wanted, settings.walk.target_distribution, available_disciplines, mixes)
    before = _counts(kept, "discipline", "difficulty")
    if release.fill_cells:
        mask = pl.Series(cap_cells(kept.select("discipline", "difficulty").iter_rows(), targets))
        kept, full = kept.filter(mask), kept.filter(~mask)
    else:
        full = kept.clear()
    released = _counts(kept, "discipline", "difficulty")
    asked = _counts(paths, "start_discipline", "target_difficulty")
    short = shortfall(targets, released)
    # a round at most doubles the paths walked so far
    request = round_request(short, asked, before, limit=max(1, 2 * paths.height)) if release.fill_cells else {}
    rows = cell_rows(targets, asked, before, released)
    walked = _latest_round_walk(paths, plan)
    for row in rows:
        row["why_short"] = why_short(
            row["shortfall"], held=release.fill_cells, asked=row["asked"], available=row["available"],
            rounds_walked=len(plan.get("rounds", [])), max_rounds=release.max_rounds,
            next_paths=request.get(row["discipline"], {}).get(row["level"], 0),
            **walked.get(row["discipline"], {}))
    return kept, full, ReleaseCells(
        items_wanted=wanted, tokens_target=release.target_tokens,
        tokens_released=int(kept.get_column("tokens").sum() or 0), rows=rows,
        next_round={d: {str(level): n for level, n in levels.items()} for d, levels in request.items()},
        unjudged=kept.filter(pl.col("difficulty").is_null()).height, plan_rounds=len(plan.get("rounds", [])))


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
                   warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
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
    and its `tokens`. Exported to `<data dir>/release/<version>/` as Parquet and JSONL with a
    Hugging Face dataset card and a manifest; `release/latest` points at it."""
    settings = settings.value
    languages = seed_languages(warehouse.query("seed_languages"), min_share=settings.release.min_language_share)
    released_verdict = pl.col("verdict").is_in([AGREES, NOT_VERIFIED])
    confirmed = verified_qa.filter(released_verdict)
    refuted = verified_qa.filter(~released_verdict).select(
        "qa_id", pl.when(pl.col("verdict") == UNVERIFIED).then(pl.lit(UNVERIFIED))
        .otherwise(pl.lit("verifier_") + pl.col("verdict")).alias("reason"))
    # flags are per item, so computed once here; the cleaning steps below keep the column
    flagged = confirmed.with_columns(quality_flags(
        confirmed, question_col="question", choices_col="choices", answer_col="answer",
        discipline_col="discipline", languages=languages, min_question_units=settings.release.min_question_units))
    reasons = unusable_reason(flagged.get_column("quality_flags"))
    unusable = flagged.select("qa_id").with_columns(reason=reasons).filter(pl.col("reason").is_not_null())
    # in a stable order, so the item kept of a duplicate pair never depends on run order
    ordered = flagged.filter(reasons.is_null()).sort(["discipline", "rewrite_round", "qa_id"]).with_columns(
        answer_text=pl.col("choices").list.get(
            pl.col("answer").replace_strict(ANSWER_INDEX, default=None, return_dtype=pl.Int64), null_on_oob=True))
    shingles = (1, settings.release.near_dup_shingle_size)
    copies = _source_copies(ordered, warehouse, settings.release.near_dup_threshold, shingles)
    ordered = ordered.join(copies, on="qa_id", how="anti")
    kept, exact = exact_dedup(ordered, ["question", "answer_text"], "qa_id")

    benchmarks = benchmark_index(settings.decontam, settings.release)
    hits = pl.DataFrame(schema=HIT_SCHEMA)
    if benchmarks is not None:  # before near-dedup: a contaminated item never represents a cluster
        kept, hits = decontaminate(kept, benchmarks[1], id_col="qa_id", question_col="question",
                                   choices_col="choices", answer_col="answer")
    written = [record_hits(warehouse, "linkqa_dataset", None, hits)]
    kept, near = near_dedup(kept, ["question", "answer_text"], "qa_id", threshold=settings.release.near_dup_threshold,
                            num_perm=settings.release.near_dup_num_perm,
                            ngram_range=shingles)

    kept, full, cells = _fill_cells(kept, warehouse.query("paths_asked"), settings)
    dataset = kept.drop("reasoning", "answer_text", "selected", "judge_answers", "round")  # traces stay in DuckDB

    contaminated_ids = hits.select(pl.col("item_id").alias("qa_id"), pl.col("benchmark_id").alias("duplicate_of"))
    drops = pl.concat([
        refuted.select("qa_id", pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"), "reason"),
        unusable.select("qa_id", pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"), "reason"),
        copies.select("qa_id", pl.col("seed_id").alias("duplicate_of"), pl.lit("copies_source_seed").alias("reason")),
        exact.select(pl.col("id").alias("qa_id"), "duplicate_of", "reason"),
        contaminated_ids.unique("qa_id", keep="first", maintain_order=True).with_columns(
            reason=pl.lit("benchmark_contamination")),
        near.select(pl.col("id").alias("qa_id"), pl.col("representative_id").alias("duplicate_of"), "reason"),
        full.select("qa_id", pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"), pl.lit(CELL_FULL).alias("reason")),
    ], how="vertical_relaxed")
    warehouse.replace(DATASET_DROPS, drops)
    written.append(side_table_materialization(DATASET_DROPS, drops, columns.DATASET_DROPS))

    by_benchmark = dict(hits.unique("item_id").group_by("benchmark_file").len().iter_rows()) if hits.height else {}
    summary = ReleaseSummary(
        verifier_samples=settings.synthesis.verifier_samples,
        verdicts=dict(verified_qa.group_by("verdict").len().iter_rows()) if settings.synthesis.verifier_samples else {},
        unusable=dict(unusable.group_by("reason").len().iter_rows()), source_copies=copies.height,
        exact_duplicates=exact.height, near_duplicates=near.height,
        near_dup_threshold=settings.release.near_dup_threshold,
        contaminated=hits.get_column("item_id").n_unique(),
        contaminated_seeds=int(warehouse.query("contaminated_seeds").item()),
        benchmark_files=[str(p) for p in settings.decontam.benchmark_paths],
        benchmark_items=benchmarks[0].items.height if benchmarks else 0,
        hits_by_benchmark={str(k): int(v) for k, v in by_benchmark.items()},
        seed_sources=dict(warehouse.query("seed_sources").iter_rows()),
        quality_flags=flag_counts(dataset.get_column("quality_flags")),
        license=settings.release.license,
    )
    files = write_release(dataset, settings.release_dir, summary)
    orphans = warehouse.query("release_orphans", frames={"dataset": dataset}).row(0, named=True)
    usage = warehouse.query("usage_by_stage")
    yield dg.Output(dataset, metadata={
        **table_metadata(dataset, columns.RELEASE, ["qa_id", "discipline", "variant", "difficulty", "question"]),
        "verifier_dropped": refuted.height,
        "verdicts": dg.MetadataValue.json(dict(summary.verdicts)),
        "unusable_dropped": unusable.height,
        "source_copies_dropped": copies.height,
        "exact_duplicates_dropped": exact.height,
        "near_duplicates_dropped": near.height,
        "cell_full_dropped": full.height,
        **cells.metadata(),
        # what the data behind this release cost so far (a round's cost: the difference from the last)
        "llm_calls": int(usage.get_column("calls").sum() or 0) if usage.height else 0,
        "llm_tokens": int((usage.get_column("prompt_tokens") + usage.get_column("completion_tokens")).sum() or 0)
        if usage.height else 0,
        "benchmark_contaminated_dropped": summary.contaminated,
        "items_with_quality_flags": int((dataset.get_column("quality_flags").list.len() > 0).sum()),
        "quality_flags": dg.MetadataValue.json(dict(summary.quality_flags)),
        "release_version": files.version,
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
    remaining = find_contamination(warehouse.query("release_items"), benchmarks[1], id_col="qa_id",
                                   question_col="question", choices_col="choices", answer_col="answer")
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
          dg.AssetDep("seed_qa", partition_mapping=ALL), DATASET_DROPS, *llm_table_deps(LLM_USAGE),
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
    coverage and popularity balance (Gini of KP usage), LLM failures, tokens and cost; as
    markdown and charts here, and as `<data dir>/reports/distribution_report.{md,json,html}`
    (the HTML file is self-contained) with the chart PNGs in `reports/charts/`. Its table (the
    column schema) is the discipline × difficulty one: each cell's target against the items
    released, and why a short cell is short."""
    settings = settings.value
    warehouse.ensure_schema()
    dataset = warehouse.query("release_items")
    paths = warehouse.query("all_paths")
    kps = warehouse.query("all_knowledge_points")
    seeds = dict(warehouse.query("seeds_per_discipline").iter_rows())
    failures = dict(warehouse.query("failures_per_stage").iter_rows())
    quotas = plan_quotas(plan_params(paths))
    total = sum(quotas.values()) or 1
    discipline_target = {d: q / total for d, q in quotas.items() if q}
    synthesis = settings.synthesis
    mixes = {d: mix_for(d, synthesis.difficulty_mix, synthesis.difficulty_mix_by_discipline)
             for d in {*discipline_target, *seeds}}
    items_wanted, why = _release_sizing(context)
    usage_by_discipline = warehouse.query("usage_by_discipline")
    report = build_report(dataset, seeds, paths, kps, discipline_target, mixes,
                          failures, {row.pop("stage"): row for row in warehouse.query("usage_by_stage").to_dicts()},
                          usage_by_discipline, warehouse.query("usage_by_path"),
                          dict(warehouse.query("drops_by_reason").iter_rows()),
                          tokens_target=settings.release.target_tokens, items_wanted=items_wanted, why_short=why)
    files = write_report_files(settings.data_dir / "reports", report, dataset, paths, kps, discipline_target,
                               usage_by_discipline)

    # targets on the release, not on the paths: what failed, was dropped or judged off level counts
    discipline_l1, difficulty_l1 = report.discipline_l1, report.difficulty_l1
    tolerances = settings.release
    yield dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(report.markdown),
        **{f"chart/{name}": dg.MetadataValue.md(png_markdown(path, alt=name)) for name, path in files.charts.items()},
        "report_file": dg.MetadataValue.path(str(files.markdown)),
        "html_report": dg.MetadataValue.path(str(files.html)),
        **{f"summary/{k}": v for k, v in report.summary.items()},
    })
    # WARN: the release is measured against its targets; rounds that fill the shortfall are not built yet
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
