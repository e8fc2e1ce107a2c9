"""The release held to its discipline x difficulty cells: ``fill_cells`` keeps each cell's
target of the clean items (the earliest rounds' first), measures every cell (``ReleaseCells``,
one row of ``CELL_COLUMNS`` per cell) and says what the next round should walk for the cells
still short. The targets, the cap and the request are core/control.py's; the walk plan's asks
are read through core/quotas.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from linksyn_dagster.core.control import (
    cap_cells, cell_rows, cell_targets, items_for_tokens, round_request, shortfall, why_short,
)
from linksyn_dagster.core.difficulty import mix_for
from linksyn_dagster.core.quotas import plan_asks, plan_max_rounds, plan_params, plan_quotas
from linksyn_dagster.core.tokens import qa_tokens
from linksyn_dagster.settings import LinkSynSettings

__all__ = ["CELL_COLUMNS", "ReleaseCells", "fill_cells"]

CELL_COLUMNS = ("discipline", "level", "target", "asked", "available", "released", "shortfall", "why_short")


@dataclass(frozen=True)
class ReleaseCells:
    """The release against its discipline x difficulty cells (see core/control.py)."""

    items_wanted: int
    tokens_target: int | None
    tokens_released: int
    rows: list[dict[str, Any]]  # one per cell, keys CELL_COLUMNS
    next_round: dict[str, dict[str, int]]
    unjudged: int
    plan_rounds: int  # further rounds of the walk plan the release was built from


def _counts(frame: pl.DataFrame, discipline: str, level: str) -> dict[tuple[str, int], int]:
    frame = frame.filter(pl.col(level).is_not_null())
    return {(d, int(lv)): int(n) for d, lv, n in frame.group_by(discipline, level).len().iter_rows()}


def _latest_round_walk(paths: pl.DataFrame, plan: dict[str, Any]) -> dict[str, dict[str, int]]:
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


def fill_cells(kept: pl.DataFrame, paths: pl.DataFrame,
               settings: LinkSynSettings) -> tuple[pl.DataFrame, pl.DataFrame, ReleaseCells]:
    """Hold the clean items to their cells: the items wanted (from the token budget over the
    measured tokens per item, else the plan's first-round paths), split into discipline x
    level targets; each cell keeps its earliest items (first rounds first), the rest are
    returned as the second frame. Without ``fill_cells``, every item is kept and only
    measured. Also: what the next round should walk for the cells still short, and why each
    is short (the round limit is the plan's, as it recorded it). ``paths``: every path asked
    (path_id, start_discipline, target_difficulty, round, walk_params)."""
    release, synthesis = settings.release, settings.synthesis
    # tokens first (unless counted already): a row's count must not depend on the order the
    # join leaves the rows in
    kept = (kept if "tokens" in kept.columns else kept.with_columns(qa_tokens(kept))).drop(
        "round", strict=False).join(paths.select("path_id", "round"), on="path_id", how="left")
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
        mask = pl.Series(cap_cells(kept.select("discipline", "difficulty").iter_rows(), targets), dtype=pl.Boolean)
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
            rounds_walked=len(plan.get("rounds", [])), max_rounds=plan_max_rounds(plan, default=release.max_rounds),
            next_paths=request.get(row["discipline"], {}).get(row["level"], 0),
            **walked.get(row["discipline"], {}))
    return kept, full, ReleaseCells(
        items_wanted=wanted, tokens_target=release.target_tokens,
        tokens_released=int(kept.get_column("tokens").sum() or 0), rows=rows,
        next_round={d: {str(level): n for level, n in levels.items()} for d, levels in request.items()},
        unjudged=kept.filter(pl.col("difficulty").is_null()).height, plan_rounds=len(plan.get("rounds", [])))
