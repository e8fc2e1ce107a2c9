"""The release's targets and the rounds that meet them.

A *cell* is a (discipline, difficulty level) pair. The release has a number of items in all
(from the token budget, or the plan's paths), split over disciplines by the target
distribution and over levels by each discipline's difficulty mix: that is every cell's
target. The release keeps at most a cell's target (``cap_cells``); what is missing after
verification, deduplication and decontamination is the cell's shortfall, which the next
round walks new paths for (``round_request``), as many as the cell's measured yield says are
needed."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from linksyn_dagster.core.quotas import quotas_from_distribution

Cell = tuple[str, int]

MIN_YIELD = 0.2  # a cell whose items nearly all fail is still asked for, at most 5 paths per missing item
PRIOR_PATHS = 5  # weight of a level's pooled yield in a cell's own (see cell_yield)
# where a round limit comes from: the walk plan records it (see core/quotas.py plan_max_rounds)
ROUND_LIMIT_SOURCE = "the walk plan's max_rounds: its run config, else LINKSYN_RELEASE__MAX_ROUNDS"


def items_for_tokens(target_tokens: int, tokens_per_item: float) -> int:
    """Items that make ``target_tokens`` at ``tokens_per_item`` each (at least 1)."""
    if target_tokens <= 0:
        raise ValueError(f"target_tokens must be > 0, got {target_tokens}")
    if not tokens_per_item > 0:
        raise ValueError(f"tokens per item must be > 0, got {tokens_per_item!r}")
    return max(1, round(target_tokens / tokens_per_item))


def cell_targets(items: int, distribution: Mapping[str, float], available: Iterable[str],
                 mixes: Mapping[str, Mapping[int, float]]) -> dict[Cell, int]:
    """Every cell's target: ``items`` split over the ``available`` disciplines by the target
    ``distribution`` (as the walk's quotas are), then each discipline's share over its levels
    by ``mixes[discipline]`` (level -> share), both by largest remainder. Cells with a zero
    target are left out."""
    per_discipline = quotas_from_distribution(items, distribution, available)
    targets: dict[Cell, int] = {}
    for discipline, n in per_discipline.items():
        if n <= 0:
            continue
        mix = {str(level): share for level, share in mixes[discipline].items() if share > 0}
        for level, count in quotas_from_distribution(n, mix, mix).items():
            if count > 0:
                targets[(discipline, int(level))] = count
    return targets


def cap_cells(cells: Iterable[Cell | tuple[str, None]], targets: Mapping[Cell, int]) -> list[bool]:
    """Which items to keep, in the given order: each cell keeps its first ``targets[cell]``
    items; items of a cell without a target (or without a level) are not kept."""
    used: dict[Cell, int] = {}
    keep = []
    for cell in cells:
        room = targets.get(cell, 0) - used.get(cell, 0)  # type: ignore[arg-type]
        keep.append(room > 0)
        if room > 0:
            used[cell] = used.get(cell, 0) + 1  # type: ignore[index]
    return keep


def shortfall(targets: Mapping[Cell, int], released: Mapping[Cell, int]) -> dict[Cell, int]:
    """The items each cell still misses (only cells that miss some)."""
    return {cell: target - released.get(cell, 0) for cell, target in targets.items()
            if released.get(cell, 0) < target}


def cell_yield(asked: Mapping[Cell, int], available: Mapping[Cell, int], cell: Cell) -> float:
    """Releasable items per path asked for this cell's level, measured: the cell's own
    count, shrunk toward its level's yield over every discipline by PRIOR_PATHS pseudo-paths
    (a cell holds a few paths, its own ratio alone is noise; how often a level comes out
    right depends on the level more than on the discipline), floored at MIN_YIELD and
    capped at 1. 1 when nothing was asked for the level anywhere yet."""
    level = cell[1]
    asked_level = sum(n for (_, lv), n in asked.items() if lv == level)
    if not asked_level:
        return 1.0
    pooled = min(1.0, sum(available.get(c, 0) for c in asked if c[1] == level) / asked_level)
    measured = (available.get(cell, 0) + PRIOR_PATHS * pooled) / (asked.get(cell, 0) + PRIOR_PATHS)
    return max(MIN_YIELD, min(1.0, measured))


def round_request(short: Mapping[Cell, int], asked: Mapping[Cell, int], available: Mapping[Cell, int],
                  limit: int | None = None) -> dict[str, dict[int, int]]:
    """The paths to walk next round, per start discipline and level: for each short cell,
    its shortfall over its measured yield (rounded up). ``asked``: paths asked for each
    cell's level so far; ``available``: releasable items each cell had before the cap.
    ``limit``: at most this many paths in all (each cell's share scaled down, at least one
    path per short cell), so a round of cells that nearly never succeed cannot run away."""
    wanted: dict[Cell, int] = {}
    for cell, missing in sorted(short.items()):
        if missing > 0:
            wanted[cell] = math.ceil(missing / cell_yield(asked, available, cell) - 1e-9)
    total = sum(wanted.values())
    if limit is not None and total > limit:
        wanted = {cell: max(1, math.floor(n * limit / total)) for cell, n in wanted.items()}
    request: dict[str, dict[int, int]] = {}
    for (discipline, level), paths in wanted.items():
        request.setdefault(discipline, {})[level] = paths
    return request


def cell_rows(targets: Mapping[Cell, int], asked: Mapping[Cell, int], available: Mapping[Cell, int],
              released: Mapping[Cell, int]) -> list[dict]:
    """One row per cell with a target or items: target, paths asked for its level,
    releasable items before the cap, items released, shortfall; in discipline, level order."""
    cells = sorted({*targets, *available, *released})
    return [{"discipline": d, "level": level, "target": targets.get((d, level), 0), "asked": asked.get((d, level), 0),
             "available": available.get((d, level), 0), "released": released.get((d, level), 0),
             "shortfall": max(0, targets.get((d, level), 0) - released.get((d, level), 0))} for d, level in cells]


def why_short(missing: int, *, held: bool, asked: int, available: int, rounds_walked: int, max_rounds: int,
              next_paths: int = 0, walk_asked: int = 0, walk_found: int = 0) -> str:
    """Why a cell holds ``missing`` items fewer than its target, in words ('' when it misses
    none). ``asked``/``available``: paths asked for the cell's level so far and the releasable
    items they gave; ``rounds_walked`` of at most ``max_rounds`` further rounds (the walk
    plan's limit); ``next_paths``: what the next round asks for the cell;
    ``walk_asked``/``walk_found``: the paths the latest round asked from the cell's
    discipline and those the walk found."""
    if missing <= 0:
        return ""
    if not held:
        return "cells are not held (LINKSYN_RELEASE__FILL_CELLS=false), so no round walks for it"
    if walk_found < walk_asked:
        return (f"the graph ran out: the latest round asked {walk_asked} paths from this discipline and the walk "
                f"found {walk_found}")
    made = (f"{available} of the {asked} paths asked for it gave a releasable item" if asked
            else "no path was asked for it yet")
    if rounds_walked >= max_rounds:
        return f"round limit: {rounds_walked} of {max_rounds} further rounds walked ({ROUND_LIMIT_SOURCE}); {made}"
    if next_paths:
        return f"round {rounds_walked + 1} asks {next_paths} more paths for it; {made}"
    return made


def next_rounds(rounds: list[dict], request: Mapping[str, Mapping[str, int]], *, rounds_read: int,
                max_rounds: int, held: bool) -> tuple[list[dict] | None, str]:
    """The walk plan's rounds with the release's ``request`` appended, or None, with why.

    ``rounds`` are the rounds of the newest walk plan; ``rounds_read`` those of the plan the
    release was built from. A release that read an older plan does not decide: the release
    of the newest plan will. Nothing follows when the cells are not held, when the release
    asks for nothing, or at ``max_rounds`` (the newest plan's limit)."""
    if not held:
        return None, "the release does not hold its cells (LINKSYN_RELEASE__FILL_CELLS is off)"
    if rounds_read != len(rounds):
        return None, (f"the release read a walk plan of {rounds_read} further round(s), the newest has "
                      f"{len(rounds)}: its own release decides")
    if not any(int(n) > 0 for levels in request.values() for n in levels.values()):
        return None, "the release asks for no further round: every cell is met, or nothing more can be walked"
    if len(rounds) >= max_rounds:
        return None, f"round limit: {len(rounds)} of {max_rounds} further rounds walked ({ROUND_LIMIT_SOURCE})"
    return [*rounds, {d: dict(levels) for d, levels in request.items()}], f"round {len(rounds) + 1}"
