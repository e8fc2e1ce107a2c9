"""The distribution report: discipline and difficulty distributions against their targets,
KP coverage and popularity balance, failures, tokens and cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from linksyn_dagster.core.metrics import coverage, distribution_vs_target, gini


@dataclass
class Report:
    markdown: str
    summary: dict[str, Any] = field(default_factory=dict)


def _md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "_(none)_"
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def build_report(dataset: pl.DataFrame, seeds_per_discipline: dict[str, int], paths: pl.DataFrame,
                 knowledge_points: pl.DataFrame, discipline_target: dict[str, float],
                 difficulty_target: dict[str, float], failures: dict[str, int],
                 usage_by_stage: dict[str, dict[str, float]]) -> Report:
    per_discipline = dict(dataset.group_by("discipline").len().iter_rows()) if dataset.height else {}
    discipline_rows = distribution_vs_target(per_discipline, discipline_target)
    difficulties = dataset.with_columns(pl.col("difficulty").cast(pl.Utf8).fill_null("unjudged"))
    per_difficulty = dict(difficulties.group_by("difficulty").len().iter_rows()) if dataset.height else {}
    difficulty_rows = distribution_vs_target(per_difficulty, difficulty_target)

    all_kps = knowledge_points.get_column("kp_id").to_list()
    usage = (paths.select(pl.col("kp_ids").explode().alias("kp_id")).group_by("kp_id").len()
             if paths.height else pl.DataFrame(schema={"kp_id": pl.Utf8, "len": pl.UInt32}))
    used = dict(usage.iter_rows())
    usage_vector = [used.get(kp, 0) for kp in all_kps]
    kp_coverage = coverage(list(used), all_kps) if all_kps else 0.0
    kp_gini = gini(usage_vector) if usage_vector else 0.0
    total_tokens = sum(int(u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)) for u in usage_by_stage.values())
    total_cost = sum(float(u.get("cost_usd", 0.0)) for u in usage_by_stage.values())

    summary = {
        "items": dataset.height, "paths": paths.height, "knowledge_points": len(all_kps),
        "kp_coverage": round(kp_coverage, 4), "kp_usage_gini": round(kp_gini, 4),
        "llm_failures": sum(failures.values()), "total_tokens": total_tokens, "total_cost_usd": round(total_cost, 6),
        "max_discipline_deviation": round(max((abs(r["deviation"]) for r in discipline_rows), default=0.0), 4),
    }
    seed_rows = [{"discipline": k, "seeds": v} for k, v in sorted(seeds_per_discipline.items()) if v]
    usage_rows = [{"stage": s, **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in u.items()}}
                  for s, u in sorted(usage_by_stage.items())]
    markdown = f"""# LinkSyn distribution report

**{dataset.height}** items from **{paths.height}** paths over **{len(all_kps)}** knowledge points.
KP coverage **{kp_coverage:.1%}** (share of KPs on at least one path); popularity balance:
Gini of KP usage **{kp_gini:.3f}** (0 = every KP used equally). LLM failures: **{sum(failures.values())}**.
Tokens: **{total_tokens}**, cost: **${total_cost:.4f}**.

## Disciplines vs target

{_md_table(discipline_rows, ["key", "count", "share", "target_share", "deviation"])}

## Difficulty vs target

{_md_table(difficulty_rows, ["key", "count", "share", "target_share", "deviation"])}

## Seeds per discipline

{_md_table(seed_rows, ["discipline", "seeds"])}

## LLM failures by stage

{_md_table([{"stage": k, "failures": v} for k, v in sorted(failures.items())], ["stage", "failures"])}

## Tokens and cost by stage

{_md_table(usage_rows, ["stage", "calls", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd"])}
"""
    return Report(markdown, summary)
