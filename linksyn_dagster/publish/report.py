"""The distribution report: discipline and difficulty distributions against their targets
(``release_targets``: the walk plan's quotas and each discipline's difficulty mix), KP
coverage and popularity balance, failures, tokens and cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from linksyn_dagster.core.difficulty import mix_for
from linksyn_dagster.core.metrics import coverage, distribution_vs_target, gini, l1_distance
from linksyn_dagster.core.quotas import plan_params, plan_quotas
from linksyn_dagster.estimate import AGAINST_ACTUAL_COLUMNS, against_actual
from linksyn_dagster.settings import SynthesisSettings


@dataclass
class Report:
    markdown: str
    summary: dict[str, Any] = field(default_factory=dict)
    # the release's L1 distances to its targets, unrounded (the release checks compare them)
    discipline_l1: float = 0.0
    difficulty_l1: float = 0.0
    difficulty_l1_worst_discipline: float = 0.0
    cells: list[dict[str, Any]] = field(default_factory=list)  # see difficulty_cells
    drops: dict[str, int] = field(default_factory=dict)  # reason -> items removed from the release
    # per stage, then the total: the run's estimate against the calls made (estimate.against_actual)
    estimate_vs_actual: list[dict[str, Any]] = field(default_factory=list)


def release_targets(paths: pl.DataFrame, disciplines: Iterable[str],
                    synthesis: SynthesisSettings) -> tuple[dict[str, float], dict[str, dict[int, float]]]:
    """The release's targets: each discipline's share of the walk plan's first-round quotas
    (``paths``: with their ``walk_params``), and the difficulty mix of those disciplines and of
    the other ``disciplines`` (those with seeds)."""
    quotas = plan_quotas(plan_params(paths))
    total = sum(quotas.values()) or 1
    discipline_target = {d: q / total for d, q in quotas.items() if q}
    mixes = {d: mix_for(d, synthesis.difficulty_mix, synthesis.difficulty_mix_by_discipline)
             for d in {*discipline_target, *disciplines}}
    return discipline_target, mixes


def _shares(target: Mapping[str, float]) -> dict[str, float]:
    total = sum(v for v in target.values() if v > 0)
    return {k: max(float(v), 0.0) / total for k, v in target.items()} if total else {}


def _level_shares(difficulty_mixes: Mapping[str, Mapping[Any, float]], discipline: str) -> dict[str, float]:
    """A discipline's mix keyed as the release's difficulty column is grouped ("1".."5")."""
    return _shares({str(int(k)): v for k, v in difficulty_mixes.get(discipline, {}).items()})


def difficulty_cells(dataset: pl.DataFrame, discipline_target: Mapping[str, float],
                     difficulty_mixes: Mapping[str, Mapping[Any, float]],
                     items_wanted: int | None = None,
                     why_short: Mapping[tuple[str, str], str] | None = None) -> list[dict[str, Any]]:
    """One row per discipline × difficulty level: the items the release should hold there
    (discipline share × the discipline's level share × ``items_wanted``, by default the items
    it holds) against the items it holds, and why a short cell is short as the release said
    (``why_short``, keyed by discipline and level). Unjudged items are their own level, with
    no target."""
    total = dataset.height if items_wanted is None else items_wanted
    counts = {(d, str(lv) if lv is not None else "unjudged"): n
              for d, lv, n in dataset.group_by("discipline", "difficulty").len().iter_rows()} if dataset.height else {}
    disciplines = _shares(discipline_target)
    rows = []
    for discipline in sorted({*disciplines, *(d for d, _ in counts)}):
        mix = _level_shares(difficulty_mixes, discipline)
        levels = sorted({*mix, *(lv for d, lv in counts if d == discipline)}, key=lambda lv: (lv == "unjudged", lv))
        for level in levels:
            target = disciplines.get(discipline, 0.0) * mix.get(level, 0.0) * total
            actual = counts.get((discipline, level), 0)
            short = round(max(target - actual, 0.0), 1)
            rows.append({"discipline": discipline, "level": level, "target_items": round(target, 1),
                         "items": actual, "shortfall": short,
                         "why_short": (why_short or {}).get((discipline, level), "") if short >= 1 else ""})
    return rows


ESTIMATE_TEXT = ("The LLM calls, tokens (prompt + completion) and cost per stage that `linksyn estimate` "
                 "expected, made by walk_plan before any path's call (from the settings, the seeds and this data "
                 "dir's earlier runs), against the answers behind the data (llm_usage: from the model or the "
                 "result store). ratio = actual / estimated.")


def _md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "_(none)_"
    def fmt(v: Any) -> str:
        if v is None:  # unknown (as the HTML table shows it)
            return ""
        if isinstance(v, float):  # small costs keep their significant digits
            return f"{v:.3f}" if v == 0 or abs(v) >= 0.01 else f"{v:.3g}"
        return str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def build_report(dataset: pl.DataFrame, seeds_per_discipline: dict[str, int], paths: pl.DataFrame,
                 knowledge_points: pl.DataFrame, discipline_target: dict[str, float],
                 difficulty_mixes: Mapping[str, Mapping[Any, float]], failures: dict[str, int],
                 usage_by_stage: dict[str, dict[str, float]], usage_by_discipline: pl.DataFrame | None = None,
                 usage_by_path: pl.DataFrame | None = None, drops: Mapping[str, int] | None = None,
                 tokens_target: int | None = None, items_wanted: int | None = None,
                 why_short: Mapping[tuple[str, str], str] | None = None,
                 estimate: Sequence[Mapping[str, Any]] = ()) -> Report:
    """``difficulty_mixes``: each discipline's difficulty mix (level -> share); the release's
    difficulty target is their mix weighted by the discipline target. ``usage_by_discipline``:
    discipline, calls, prompt/completion/reasoning tokens, tokens, cost_usd; ``usage_by_path``:
    path_id, discipline, calls, tokens, cost_usd; ``drops``: items removed from the release
    per reason (``dataset_drops``); ``tokens_target``: the release's token budget, if any
    (the dataset's ``tokens`` column is its released tokens); ``why_short``: why each cell
    the release left short is short, by discipline and level (the release's ``cells``);
    ``estimate``: the ``run_estimate`` rows the walk plan recorded before the calls (none
    when it recorded none), set against ``usage_by_stage``."""
    per_discipline = dict(dataset.group_by("discipline").len().iter_rows()) if dataset.height else {}
    discipline_rows = distribution_vs_target(per_discipline, discipline_target)
    difficulties = dataset.with_columns(pl.col("difficulty").cast(pl.Utf8).fill_null("unjudged"))
    per_difficulty = dict(difficulties.group_by("difficulty").len().iter_rows()) if dataset.height else {}
    weights = _shares(discipline_target)
    difficulty_target: dict[str, float] = {}
    for discipline, weight in weights.items():
        for level, share in _level_shares(difficulty_mixes, discipline).items():
            difficulty_target[level] = difficulty_target.get(level, 0.0) + weight * share
    difficulty_rows = distribution_vs_target(per_difficulty, difficulty_target)
    discipline_l1, difficulty_l1 = l1_distance(discipline_rows), l1_distance(difficulty_rows)
    per_discipline_l1 = {
        d: l1_distance(distribution_vs_target(
            dict(difficulties.filter(pl.col("discipline") == d).group_by("difficulty").len().iter_rows()),
            _level_shares(difficulty_mixes, d)))
        for d in per_discipline}
    worst = max(per_discipline_l1.items(), key=lambda kv: kv[1], default=(None, 0.0))
    cells = difficulty_cells(dataset, discipline_target, difficulty_mixes, items_wanted, why_short)
    drops = dict(drops or {})
    verifier_drops = {k: v for k, v in drops.items() if k.startswith("verifier_") or k == "unverified"}

    all_kps = knowledge_points.get_column("kp_id").to_list()
    usage = (paths.select(pl.col("kp_ids").explode().alias("kp_id")).group_by("kp_id").len()
             if paths.height else pl.DataFrame(schema={"kp_id": pl.Utf8, "len": pl.UInt32}))
    used = dict(usage.iter_rows())
    usage_vector = [used.get(kp, 0) for kp in all_kps]
    kp_coverage = coverage(list(used), all_kps) if all_kps else 0.0
    kp_gini = gini(usage_vector) if usage_vector else 0.0
    # seed reuse: how often each seed pulled into a prompt was pulled (seed diversity)
    seed_use = (paths.select(pl.col("seed_ids").explode().drop_nulls()).get_column("seed_ids").value_counts()
                .get_column("count") if paths.height and "seed_ids" in paths.columns else pl.Series([], dtype=pl.UInt32))
    seed_use_max = int(seed_use.max() or 0) if seed_use.len() else 0
    seed_use_gini = gini(seed_use.to_numpy()) if seed_use.len() else 0.0
    total_tokens = sum(int(u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)) for u in usage_by_stage.values())
    has_tokens = "tokens" in dataset.columns and dataset.height
    tokens_released = int(dataset.get_column("tokens").sum() or 0) if has_tokens else 0
    token_rows = (dataset.group_by("discipline").agg(pl.len().alias("items"), pl.col("tokens").sum().alias("tokens"))
                  .sort("discipline").to_dicts() if has_tokens else [])
    for row in token_rows:  # the discipline's share of the budget, as its items are of the items
        row["target_tokens"] = round(weights.get(row["discipline"], 0.0) * tokens_target) if tokens_target else None
    total_cost = sum(float(u.get("cost_usd", 0.0)) for u in usage_by_stage.values())
    vs_estimate = against_actual(estimate, usage_by_stage) if estimate else []
    estimated = vs_estimate[-1] if vs_estimate else {}

    by_discipline = usage_by_discipline.to_dicts() if usage_by_discipline is not None else []
    by_path = usage_by_path if usage_by_path is not None else pl.DataFrame(
        schema={"path_id": pl.Utf8, "discipline": pl.Utf8, "calls": pl.Int64, "tokens": pl.Int64,
                "cost_usd": pl.Float64})
    path_cost = by_path.get_column("cost_usd") if by_path.height else pl.Series([], dtype=pl.Float64)
    path_tokens = by_path.get_column("tokens") if by_path.height else pl.Series([], dtype=pl.Int64)
    path_stats = [{
        "paths": by_path.height,
        "mean_tokens": float(path_tokens.mean() or 0.0), "max_tokens": int(path_tokens.max() or 0),
        "mean_cost_usd": float(path_cost.mean() or 0.0), "median_cost_usd": float(path_cost.median() or 0.0),
        "max_cost_usd": float(path_cost.max() or 0.0),
    }] if by_path.height else []
    costliest = by_path.head(5).to_dicts()

    summary = {
        "items": dataset.height, "paths": paths.height, "knowledge_points": len(all_kps),
        "kp_coverage": round(kp_coverage, 4), "kp_usage_gini": round(kp_gini, 4),
        "seeds_pulled": int(seed_use.len()), "seed_use_max": seed_use_max, "seed_use_gini": round(seed_use_gini, 4),
        "llm_failures": sum(failures.values()), "total_tokens": total_tokens, "total_cost_usd": round(total_cost, 6),
        "mean_cost_usd_per_path": round(path_stats[0]["mean_cost_usd"], 8) if path_stats else 0.0,
        "mean_tokens_per_path": round(path_stats[0]["mean_tokens"], 1) if path_stats else 0.0,
        "max_discipline_deviation": round(max((abs(r["deviation"]) for r in discipline_rows), default=0.0), 4),
        "discipline_l1": round(discipline_l1, 4),
        "difficulty_l1": round(difficulty_l1, 4),
        "difficulty_l1_worst_discipline": round(worst[1], 4),
        "difficulty_worst_discipline": worst[0],
        "cells_short": sum(1 for c in cells if c["shortfall"] >= 1),
        "short_cells": [{k: c[k] for k in ("discipline", "level", "shortfall", "why_short")}
                        for c in cells if c["shortfall"] >= 1],
        "verifier_dropped": sum(verifier_drops.values()),
        "tokens_released": tokens_released, "tokens_target": tokens_target,
        "llm_tokens_per_released_token": round(total_tokens / tokens_released, 3) if tokens_released else None,
        "drops": drops,
        "estimated_llm_calls": estimated.get("estimated_calls"),
        "llm_calls": sum(int(u.get("calls", 0)) for u in usage_by_stage.values()),
        "llm_calls_vs_estimate": estimated.get("calls_ratio"),
    }
    seed_rows = [{"discipline": k, "seeds": v} for k, v in sorted(seeds_per_discipline.items()) if v]
    usage_rows = [{"stage": s, **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in u.items()}}
                  for s, u in sorted(usage_by_stage.items())]
    markdown = f"""# LinkSyn distribution report

**{dataset.height}** items from **{paths.height}** paths over **{len(all_kps)}** knowledge points.
KP coverage **{kp_coverage:.1%}** (share of KPs on at least one path); popularity balance:
Gini of KP usage **{kp_gini:.3f}** (0 = every KP used equally). Seed reuse: **{seed_use.len()}** seeds
pulled into prompts, the most used **{seed_use_max}** times, Gini of seed use **{seed_use_gini:.3f}**.
LLM failures: **{sum(failures.values())}**.
Tokens: **{total_tokens}**, cost: **${total_cost:.4f}**.

## Disciplines vs target

Released items per discipline against the target distribution: L1 distance
**{discipline_l1:.3f}** (sum of |share − target share|).

{_md_table(discipline_rows, ["key", "count", "share", "target_share", "deviation"])}

## Difficulty vs target

L1 distance **{difficulty_l1:.3f}** against the disciplines' mixes weighted by the discipline
target; the worst discipline, {worst[0] or "-"}, is at **{worst[1]:.3f}** from its own mix.

{_md_table(difficulty_rows, ["key", "count", "share", "target_share", "deviation"])}

### Every discipline × difficulty cell

Target items (discipline share × level share × {"the items the release wanted, " + str(items_wanted) if items_wanted is not None else "items released"}) against the items released;
a cell still short after the last round shows its shortfall and why (`why_short`).

{_md_table(cells, ["discipline", "level", "target_items", "items", "shortfall", "why_short"])}

## Verification and cleaning

{dataset.height} items released. Removed before release, by reason (verification first:
`verifier_disagrees` = a majority of the verifier's answers was another letter than the key):

{_md_table([{"reason": k, "items": v} for k, v in sorted(drops.items())], ["reason", "items"])}

## Tokens released

**{tokens_released}** tokens released (tiktoken cl100k_base: question, choices, answer,
explanation){f" against a budget of **{tokens_target}**" if tokens_target else ""}. Cost of
control: **{(total_tokens / tokens_released) if tokens_released else 0:.2f}** LLM tokens spent
(prompt + completion, every stage) per released token.

{_md_table(token_rows, ["discipline", "items", "tokens", "target_tokens"])}

## Seeds per discipline

{_md_table(seed_rows, ["discipline", "seeds"])}

## Estimate against actual

{ESTIMATE_TEXT}

{_md_table(vs_estimate, AGAINST_ACTUAL_COLUMNS) if vs_estimate else "_(no estimate recorded: the walk plan was "
 "made before LinkSyn recorded one)_"}

## LLM failures by stage

{_md_table([{"stage": k, "failures": v} for k, v in sorted(failures.items())], ["stage", "failures"])}

## Tokens and cost by stage

{_md_table(usage_rows, ["stage", "calls", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd"])}

## Tokens and cost by discipline

{_md_table(by_discipline, ["discipline", "calls", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd"])}

## Tokens and cost per path

Each path's synthesis call plus the rewrites and verification of its QA, and the judge calls that read
its items alone (a judge call reading several paths' items is counted by discipline only).

{_md_table(path_stats, ["paths", "mean_tokens", "max_tokens", "mean_cost_usd", "median_cost_usd", "max_cost_usd"])}

Costliest paths:

{_md_table(costliest, ["path_id", "discipline", "calls", "tokens", "cost_usd"])}
"""
    return Report(markdown, summary, discipline_l1, difficulty_l1, worst[1], cells, drops, vs_estimate)
