"""What every LLM-calling asset does around the calls: record failures in DuckDB's
``llm_failures`` and usage in ``llm_usage``, and report calls, cache hits, tokens and cost as
metadata.

Four assets call the LLM and write both tables (``LLM_WRITERS``), each the rows of its own
stages for its partition. An asset has one producer in Dagster, so each table is one asset
per writer, keyed ``llm_usage/<writer>`` and ``llm_failures/<writer>`` and partitioned like
the writer: a partition's materialization is exactly the rows that writer replaced for it
(enhanced_qa's: its difficulty_judge and difficulty_rewrite rows), with their count. The
tables stay one table each, so the queries in sql/duckdb (usage per stage, discipline and
path; failures per stage) read every writer's rows as before, and an asset that reads a
table depends on every writer's asset of it (``llm_table_deps``).

Every writer has the blocking check ``llm_yield``: a stage whose share of failed requests is
above LINKSYN_LLM__MAX_FAILURE_SHARE fails it, naming the top failure classes, and what
follows waits (in the same run, and the automation's runs) until a re-run passes."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping, Sequence

import dagster as dg
import polars as pl

from linksyn_dagster.defs import columns
from linksyn_dagster.defs.automation import runs_after
from linksyn_dagster.defs.metadata import side_table_materialization, side_table_spec
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.llm.stage_yield import StageYield, yield_verdict
from linksyn_dagster.llm.types import LLMOutcome
from linksyn_dagster.resources.warehouse import WarehouseResource

LLM_FAILURES = "llm_failures"
LLM_USAGE = "llm_usage"
CHECK_LLM_YIELD = "llm_yield"

FAILURE_SCHEMA = {
    "stage": pl.Utf8, "partition_key": pl.Utf8, "item_id": pl.Utf8, "request_key": pl.Utf8,
    "model": pl.Utf8, "prompt_version": pl.Utf8, "error_class": pl.Utf8, "message": pl.Utf8,
    "attempts": pl.Int32,
}
USAGE_SCHEMA = {
    "stage": pl.Utf8, "partition_key": pl.Utf8, "discipline": pl.Utf8, "item_id": pl.Utf8, "path_id": pl.Utf8,
    "request_key": pl.Utf8, "model": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64, "cost_usd": pl.Float64, "attempts": pl.Int32, "from_store": pl.Boolean,
}

# writer asset -> (the asset its requests are made from, its group, the stages it records);
# llm_writer_asset declares each writer's asset from its entry
LLM_WRITERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "seed_kps": ("seed_qa", "knowledge", ("kp_extraction",)),
    "synthesized_qa": ("kp_paths", "synthesis", ("qa_synthesis",)),
    "enhanced_qa": ("synthesized_qa", "synthesis", ("difficulty_judge", "difficulty_rewrite")),
    "verified_qa": ("enhanced_qa", "synthesis", ("answer_verification",)),
}


def _describe(table: str, writer: str, stages: tuple[str, ...]) -> str:
    what = {LLM_USAGE: "Tokens and cost of every LLM answer behind {w}'s data ({s}), per item, with its discipline "
                       "and path",
            LLM_FAILURES: "Every item {w} got no valid LLM answer for ({s}), with the last error (nothing is "
                          "dropped silently)"}[table]
    return (what.format(w=writer, s=", ".join(stages)) + f": {writer}'s rows of {table}, replaced with each of its "
            f"partitions. The report reads {table} whole, every writer's rows.")


llm_tables = [
    side_table_spec([table, writer], _describe(table, writer, stages), descriptions, schema, written_by=writer,
                    group_name=group, deps=[upstream], partitions_def=discipline_partitions)
    for table, descriptions, schema in ((LLM_USAGE, columns.LLM_USAGE, USAGE_SCHEMA),
                                        (LLM_FAILURES, columns.LLM_FAILURES, FAILURE_SCHEMA))
    for writer, (upstream, group, stages) in LLM_WRITERS.items()
]


def llm_writer_asset(*, checks: Mapping[str, str]) -> Callable[[Callable], dg.AssetsDefinition]:
    """The ``@dg.asset`` of an LLM writer, from its ``LLM_WRITERS`` entry (looked up by the
    function's name): one run per discipline partition, in its group, materialized after the
    asset its requests are made from. ``checks``: the asset checks it reports, name ->
    description; the blocking ``llm_yield`` (``LLMTables.yield_check``) is declared for every
    writer."""

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        upstream, group, stages = LLM_WRITERS[fn.__name__]
        check_specs = [dg.AssetCheckSpec(name, asset=fn.__name__, description=description)
                       for name, description in checks.items()]
        # partitioned like the writer: a discipline whose stage failed holds its own partition
        # of what follows, not the other disciplines' (Dagster calls partitioned checks a preview)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            check_specs.append(dg.AssetCheckSpec(
                CHECK_LLM_YIELD, asset=fn.__name__, blocking=True, partitions_def=discipline_partitions,
                description=f"at most LINKSYN_LLM__MAX_FAILURE_SHARE (default 20%) of the requests of "
                            f"{', '.join(stages)} failed; else it names the top failure classes and blocks: "
                            "what follows waits for a re-run that passes"))
        return dg.asset(
            partitions_def=discipline_partitions,
            metadata={"partition_expr": "discipline"},
            kinds={"duckdb", "polars", "openai"},
            group_name=group,
            automation_condition=runs_after(upstream),
            check_specs=check_specs,
        )(fn)

    return decorate


def llm_table_deps(table: str) -> list[dg.AssetDep]:
    """A dependency on every writer's rows of ``table`` (all partitions): for an asset reading it whole."""
    return [dg.AssetDep([table, writer], partition_mapping=dg.AllPartitionMapping()) for writer in LLM_WRITERS]


def _failures(stage: str, partition_key: str, outcomes: Sequence[LLMOutcome]) -> pl.DataFrame:
    rows = [
        {"stage": stage, "partition_key": partition_key, "item_id": o.item_id, "request_key": o.request_key,
         "model": o.failure.model, "prompt_version": o.failure.prompt_version,
         "error_class": o.failure.error_class, "message": o.failure.message, "attempts": o.failure.attempts}
        for o in outcomes if o.failure is not None
    ]
    return pl.DataFrame(rows, schema=FAILURE_SCHEMA)


def _usage(stage: str, partition_key: str, outcomes: Sequence[LLMOutcome],
           path_of: Mapping[str, str | None] | None) -> pl.DataFrame:
    """Tokens and cost per item answered, with its discipline (the partition) and path."""
    rows = [
        {"stage": stage, "partition_key": partition_key, "discipline": partition_key,
         "item_id": o.item_id, "path_id": (path_of or {}).get(o.item_id), "request_key": o.request_key,
         "model": o.result.model, "prompt_tokens": o.result.prompt_tokens,
         "completion_tokens": o.result.completion_tokens, "reasoning_tokens": o.result.reasoning_tokens,
         "cost_usd": o.result.cost_usd, "attempts": o.result.attempts, "from_store": o.from_cache}
        for o in outcomes if o.result is not None
    ]
    return pl.DataFrame(rows, schema=USAGE_SCHEMA)


class LLMTables:
    """One run of a writer asset (one partition): replaces its stages' rows of ``llm_usage``
    and ``llm_failures`` and reports them as materializations of its assets of the two tables."""

    def __init__(self, warehouse: WarehouseResource, context: dg.AssetExecutionContext) -> None:
        self.writer = context.asset_key.path[-1]
        if self.writer not in LLM_WRITERS:
            raise ValueError(f"{self.writer} writes llm_usage and llm_failures: add it to LLM_WRITERS")
        self.warehouse, self.partition_key = warehouse, context.partition_key
        self.written: dict[str, list[pl.DataFrame]] = {LLM_USAGE: [], LLM_FAILURES: []}
        self.yields: list[StageYield] = []

    def record(self, stage: str, outcomes: Sequence[LLMOutcome],
               path_of: Mapping[str, str | None] | None = None) -> int:
        """Replace this stage's rows of the partition with the answers behind its data (usage)
        and the items that failed now; returns the failure count."""
        if stage not in LLM_WRITERS[self.writer][2]:
            raise ValueError(f"{self.writer} records stage {stage}: add it to its LLM_WRITERS entry")
        frames = {LLM_USAGE: _usage(stage, self.partition_key, outcomes, path_of),
                  LLM_FAILURES: _failures(stage, self.partition_key, outcomes)}
        self.warehouse.replace_each(frames, stage=stage, partition_key=self.partition_key)
        for table, rows in frames.items():
            self.written[table].append(rows)
        self.yields.append(StageYield.of(stage, outcomes))
        return self.written[LLM_FAILURES][-1].height

    def materializations(self) -> list[dg.AssetMaterialization]:
        """The rows recorded, as one materialization of each table's asset of this writer."""
        return [
            side_table_materialization([table, self.writer], pl.concat(self.written[table]) if self.written[table]
                                       else pl.DataFrame(schema=schema), descriptions, partition=self.partition_key)
            for table, descriptions, schema in ((LLM_USAGE, columns.LLM_USAGE, USAGE_SCHEMA),
                                                (LLM_FAILURES, columns.LLM_FAILURES, FAILURE_SCHEMA))
        ]

    def yield_check(self, max_share: float, blocks: bool = True) -> dg.AssetCheckResult:
        """The ``llm_yield`` check of the stages recorded: fails when one of them failed more
        than ``max_share`` of its requests; its description names the top failure classes.
        ``blocks``: a failure stops what follows (ERROR), else it only warns (WARN)."""
        passed, description = yield_verdict(self.yields, max_share)
        return dg.AssetCheckResult(
            check_name=CHECK_LLM_YIELD, passed=passed, description=description,
            severity=dg.AssetCheckSeverity.ERROR if blocks else dg.AssetCheckSeverity.WARN,
            metadata={"max_failure_share": max_share,
                      **{f"{y.stage}_requests": y.requests for y in self.yields},
                      **{f"{y.stage}_failed": y.failed for y in self.yields},
                      **{f"{y.stage}_failure_share": round(y.share, 4) for y in self.yields},
                      "failure_classes": dg.MetadataValue.json(
                          {y.stage: dict(y.classes) for y in self.yields})})


def usage_metadata(outcomes: Sequence[LLMOutcome]) -> dict[str, Any]:
    done = [o.result for o in outcomes if o.result is not None]
    fresh = [o.result for o in outcomes if o.result is not None and not o.from_cache]
    return {
        "llm_items": len(outcomes),
        "llm_succeeded": len(done),
        "llm_failed": sum(o.failure is not None for o in outcomes),
        "llm_from_store": sum(o.from_cache for o in outcomes),
        "llm_calls_made": len(fresh),
        "prompt_tokens": sum(r.prompt_tokens for r in done),
        "completion_tokens": sum(r.completion_tokens for r in done),
        "reasoning_tokens": sum(r.reasoning_tokens for r in done),
        "cost_usd": round(sum(r.cost_usd for r in done), 6),
        "cost_usd_this_run": round(sum(r.cost_usd for r in fresh), 6),
    }
