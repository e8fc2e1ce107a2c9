"""What every LLM-calling asset does around the calls: record failures in DuckDB's
``llm_failures`` and report calls, cache hits, tokens and cost as metadata."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import polars as pl

from linksyn_dagster.llm.types import LLMOutcome
from linksyn_dagster.resources.warehouse import WarehouseResource

FAILURE_SCHEMA = {
    "stage": pl.Utf8, "partition_key": pl.Utf8, "item_id": pl.Utf8, "request_key": pl.Utf8,
    "model": pl.Utf8, "prompt_version": pl.Utf8, "error_class": pl.Utf8, "message": pl.Utf8,
    "attempts": pl.Int32,
}


def record_failures(warehouse: WarehouseResource, stage: str, partition_key: str,
                    outcomes: Sequence[LLMOutcome]) -> int:
    """Replace this stage's failure rows for the partition with the items that failed now."""
    rows = [
        {"stage": stage, "partition_key": partition_key, "item_id": o.item_id, "request_key": o.request_key,
         "model": o.failure.model, "prompt_version": o.failure.prompt_version,
         "error_class": o.failure.error_class, "message": o.failure.message, "attempts": o.failure.attempts}
        for o in outcomes if o.failure is not None
    ]
    warehouse.replace("llm_failures", pl.DataFrame(rows, schema=FAILURE_SCHEMA),
                      stage=stage, partition_key=partition_key)
    return len(rows)


USAGE_SCHEMA = {
    "stage": pl.Utf8, "partition_key": pl.Utf8, "discipline": pl.Utf8, "item_id": pl.Utf8, "path_id": pl.Utf8,
    "request_key": pl.Utf8, "model": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64, "cost_usd": pl.Float64, "attempts": pl.Int32, "from_store": pl.Boolean,
}


def record_usage(warehouse: WarehouseResource, stage: str, partition_key: str, outcomes: Sequence[LLMOutcome],
                 path_of: Mapping[str, str | None] | None = None, discipline: str | None = None) -> None:
    """Replace this stage's usage rows for the partition with the answers behind its data:
    tokens and cost per item, with its discipline (default: the partition) and path."""
    rows = [
        {"stage": stage, "partition_key": partition_key, "discipline": discipline or partition_key,
         "item_id": o.item_id, "path_id": (path_of or {}).get(o.item_id), "request_key": o.request_key,
         "model": o.result.model, "prompt_tokens": o.result.prompt_tokens,
         "completion_tokens": o.result.completion_tokens, "reasoning_tokens": o.result.reasoning_tokens,
         "cost_usd": o.result.cost_usd, "attempts": o.result.attempts, "from_store": o.from_cache}
        for o in outcomes if o.result is not None
    ]
    warehouse.replace("llm_usage", pl.DataFrame(rows, schema=USAGE_SCHEMA), stage=stage, partition_key=partition_key)


def record_outcomes(warehouse: WarehouseResource, stage: str, partition_key: str, outcomes: Sequence[LLMOutcome],
                    path_of: Mapping[str, str | None] | None = None) -> int:
    """Failures into ``llm_failures`` and usage into ``llm_usage``; returns the failure count."""
    record_usage(warehouse, stage, partition_key, outcomes, path_of)
    return record_failures(warehouse, stage, partition_key, outcomes)


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
