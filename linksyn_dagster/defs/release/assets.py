"""linkqa_dataset: the deduplicated release with its files; distribution_report: what the
release holds against the targets."""


import json
from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.dedup import exact_dedup
from linksyn_dagster.core.metrics import distribution_vs_target
from linksyn_dagster.core.walker import quotas_from_distribution
from linksyn_dagster.defs.metadata import table_metadata
from linksyn_dagster.publish.release import write_release
from linksyn_dagster.publish.report import build_report
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import load_settings

CHECK_UNIQUE_QA_IDS = "unique_qa_ids"
CHECK_PROVENANCE = "every_item_traces_to_seeds_and_paths"
CHECK_DISCIPLINES_ON_TARGET = "disciplines_within_tolerance"
DISCIPLINE_TOLERANCE = 0.10  # largest |share - target share| accepted per discipline

ALL = dg.AllPartitionMapping()
ANSWER_INDEX = {letter: index for index, letter in enumerate("ABCDEFGHIJ")}


@dg.asset(
    kinds={"duckdb", "polars", "parquet"},
    group_name="release",
    ins={"enhanced_qa": dg.AssetIn(partition_mapping=ALL)},
    deps=[dg.AssetDep("synthesized_qa", partition_mapping=ALL), dg.AssetDep("kp_paths", partition_mapping=ALL),
          dg.AssetDep("seed_qa", partition_mapping=ALL)],
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(CHECK_UNIQUE_QA_IDS, asset="linkqa_dataset", description="no qa_id twice"),
        dg.AssetCheckSpec(CHECK_PROVENANCE, asset="linkqa_dataset",
                          description="every item's source seeds exist in seed_qa and its path in kp_paths"),
    ],
)
def linkqa_dataset(context: dg.AssetExecutionContext, enhanced_qa: pl.DataFrame,
                   warehouse: WarehouseResource) -> Iterator:
    """The release: original and enhanced QA of every discipline, exact duplicates (same
    normalized question and answer) removed and listed in `dataset_drops`, exported to
    `<data dir>/release/` as Parquet and JSONL with a dataset card and a manifest."""
    # originals before their rewrites, so a rewrite that changed nothing is the one dropped
    ordered = enhanced_qa.sort(["discipline", "variant", "qa_id"], descending=[False, True, False]).with_columns(
        answer_text=pl.col("choices").list.get(
            pl.col("answer").replace_strict(ANSWER_INDEX, default=None, return_dtype=pl.Int64), null_on_oob=True))
    kept, dropped = exact_dedup(ordered, ["question", "answer_text"], "qa_id")
    dataset = kept.drop("reasoning", "answer_text")  # traces stay in DuckDB; the release is QA data
    warehouse.replace("dataset_drops", dropped.select(pl.col("id").alias("qa_id"), "duplicate_of", "reason"))
    files = write_release(dataset, load_settings().release_dir, dropped.height)
    orphans = warehouse.query("release_orphans", frames={"dataset": dataset}).row(0, named=True)
    yield dg.Output(dataset, metadata={
        **table_metadata(dataset, preview_columns=["qa_id", "discipline", "variant", "difficulty", "question"]),
        "exact_duplicates_dropped": dropped.height,
        "release_dir": dg.MetadataValue.path(str(files.directory)),
        "dataset_card": dg.MetadataValue.md(files.card.read_text(encoding="utf-8")),
    })
    duplicates = dataset.height - dataset.get_column("qa_id").n_unique()
    yield dg.AssetCheckResult(check_name=CHECK_UNIQUE_QA_IDS, passed=duplicates == 0,
                              metadata={"duplicate_ids": duplicates})
    yield dg.AssetCheckResult(check_name=CHECK_PROVENANCE,
                              passed=orphans["missing_seeds"] == 0 and orphans["missing_paths"] == 0,
                              metadata={k: int(v) for k, v in orphans.items()})


@dg.asset(
    kinds={"duckdb"},
    group_name="release",
    deps=["linkqa_dataset", "knowledge_points", dg.AssetDep("kp_paths", partition_mapping=ALL),
          dg.AssetDep("seed_qa", partition_mapping=ALL)],
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[dg.AssetCheckSpec(CHECK_DISCIPLINES_ON_TARGET, asset="distribution_report",
                                   description=f"each discipline's share of paths within "
                                               f"{DISCIPLINE_TOLERANCE:.0%} of its target")],
)
def distribution_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
    """Discipline and difficulty distributions of the release against their targets, KP
    coverage and popularity balance (Gini of KP usage), LLM failures, tokens and cost;
    as markdown here and as `<data dir>/reports/distribution_report.{md,json}`."""
    settings = load_settings()
    warehouse.ensure_schema()
    dataset = warehouse.query("release_items")
    paths = warehouse.query("all_paths")
    kps = warehouse.query("all_knowledge_points")
    seeds = dict(warehouse.query("seeds_per_discipline").iter_rows())
    failures = dict(warehouse.query("failures_per_stage").iter_rows())
    available = sorted(set(kps.get_column("primary_discipline").to_list()))
    quotas = quotas_from_distribution(settings.walk.paths_total, settings.walk.target_distribution, available)
    total = sum(quotas.values()) or 1
    discipline_target = {d: q / total for d, q in quotas.items() if q}
    report = build_report(dataset, seeds, paths, kps, discipline_target, settings.synthesis.difficulty_mix,
                          failures, {row.pop("stage"): row for row in warehouse.query("usage_by_stage").to_dicts()},
                          warehouse.query("usage_by_discipline"), warehouse.query("usage_by_path"))

    directory = settings.data_dir / "reports"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "distribution_report.md").write_text(report.markdown, encoding="utf-8")
    (directory / "distribution_report.json").write_text(json.dumps(report.summary, indent=2), encoding="utf-8")

    path_counts = dict(paths.group_by("start_discipline").len().iter_rows()) if paths.height else {}
    deviations = {r["key"]: r["deviation"] for r in distribution_vs_target(path_counts, discipline_target)}
    worst = max((abs(v) for v in deviations.values()), default=0.0)
    yield dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(report.markdown),
        "report_file": dg.MetadataValue.path(str(directory / "distribution_report.md")),
        **{f"summary/{k}": v for k, v in report.summary.items()},
    })
    yield dg.AssetCheckResult(check_name=CHECK_DISCIPLINES_ON_TARGET, passed=worst <= DISCIPLINE_TOLERANCE,
                              metadata={"max_abs_deviation": round(worst, 4), "tolerance": DISCIPLINE_TOLERANCE})
