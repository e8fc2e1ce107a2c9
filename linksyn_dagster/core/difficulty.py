"""Difficulty targets: which level each item is asked for so that a discipline's items fill
its difficulty mix, and how an item's versions are chosen against its level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

LEVELS = (1, 2, 3, 4, 5)


def normalize_mix(mix: Mapping[str | int, float], where: str = "difficulty_mix") -> dict[int, float]:
    """The mix as level -> share summing to 1. Keys are the levels 1-5 (as numbers or
    strings); shares are non-negative and not all zero. Levels left out get 0."""
    shares: dict[int, float] = dict.fromkeys(LEVELS, 0.0)
    for key, share in mix.items():
        try:
            level = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: level {key!r} is not a number 1-5") from None
        if level not in shares:
            raise ValueError(f"{where}: level {key!r} is outside 1-5")
        if not share >= 0:
            raise ValueError(f"{where}: share of level {level} is {share!r}, not a number >= 0")
        shares[level] += float(share)
    total = sum(shares.values())
    if total <= 0:
        raise ValueError(f"{where}: every share is 0")
    return {level: share / total for level, share in shares.items()}


def mix_for(discipline: str, mix: Mapping[str | int, float],
            by_discipline: Mapping[str, Mapping[str | int, float]]) -> dict[int, float]:
    """A discipline's own mix if it has one, else the global mix (normalized)."""
    if discipline in by_discipline:
        return normalize_mix(by_discipline[discipline], f"difficulty_mix_by_discipline[{discipline}]")
    return normalize_mix(mix)


def assign_levels(n: int, mix: Mapping[int, float], start: Mapping[int, int] | None = None) -> list[int]:
    """``n`` levels in an order whose every prefix is as close to ``mix`` as integer counts
    allow: step i takes the level furthest behind its share of i + 1 items (ties to the lower
    level). So the first k paths of a plan already follow the mix, whatever k is. ``start``:
    levels already given (paths an extended plan keeps), which the new ones continue."""
    counts = {level: (start or {}).get(level, 0) for level in mix}
    done = sum((start or {}).values())
    levels = []
    for i in range(done, done + n):
        level = max(mix, key=lambda lv: (mix[lv] * (i + 1) - counts[lv], -lv))
        counts[level] += 1
        levels.append(level)
    return levels


def surest_version(taken: Sequence[bool], confidence: Sequence[float | None]) -> int | None:
    """Index of the version to release among an item's versions (in the order they were
    written): of those taken for their target level, the one whose level is surest
    (``confidence``: the level's probability under the learned model; the first on a tie).
    Choosing among several versions taken, the surest misplaces fewest. None when no version
    is taken: the item fills no cell it was asked for, and a later round asks for that cell
    again (a version judged elsewhere would fill another cell with an item whose level the
    judge and the generator disagree on, which is where a noisy judge is wrong most)."""
    best = None
    for index, (is_taken, p) in enumerate(zip(taken, confidence)):
        if is_taken and (best is None or (p or 0.0) > (confidence[best] or 0.0)):
            best = index
    return best


def closest_version(levels: Sequence[int | None], target: int) -> int:
    """Index of the version to release when the cells are not held (an open release keeps
    every path's item): among an item's versions (in the order they were written) with these
    judged levels, the first on target, else the closest to it, the later one on a tie (it
    was written toward the target). Unjudged versions come last."""
    best, best_key = 0, None
    for index, level in enumerate(levels):
        if level == target:
            return index
        key = (0 if level is not None else 1, abs(level - target) if level is not None else 0, -index)
        if best_key is None or key < best_key:
            best, best_key = index, key
    return best


def settled_level(readings: Sequence[int | None], k: int, target: int | None = None) -> bool:
    """Whether a version's readings so far settle what k readings would decide, so no more
    are asked (failed readings, None, settle nothing):

    * without a target (an open release, which keeps each path's closest version): a majority
      of k readings agree on one level, which is then the median;
    * with a target (held cells, which take a version only when its median is the target):
      whether the median of k is the target is decided whatever the remaining readings say,
      on target (too few readings left to pull it off) or off (a majority of k below it, or
      above it); and a first reading two or more levels off the target settles it off (a
      rewrite or another path is cheaper than readings to overturn it)."""
    given = [r for r in readings if r is not None]
    majority = k // 2 + 1
    if target is None:
        return len(given) >= majority and all(r == given[0] for r in given)
    below, above = sum(r < target for r in given), sum(r > target for r in given)
    left = k - len(given)
    if below >= majority or above >= majority or (len(given) == 1 and abs(given[0] - target) >= 2):
        return True
    return below + left < majority and above + left < majority


def median_level(readings: Sequence[int | None]) -> int | None:
    """The level of a version from its readings: the median of those given (the lower
    middle one for an even count), None without any."""
    levels = sorted(r for r in readings if r is not None)
    return levels[(len(levels) - 1) // 2] if levels else None
