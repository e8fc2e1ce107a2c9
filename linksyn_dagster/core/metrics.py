"""Balance and coverage measures used by the distribution report and the walk tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypedDict

import numpy as np

__all__ = ["DistributionRow", "coverage", "distribution_vs_target", "gini", "l1_distance", "top_share", "visit_summary"]


def _as_array(values: Iterable[float] | np.ndarray) -> np.ndarray:
    raw = values if isinstance(values, np.ndarray) else list(values)
    return np.asarray(raw, dtype=np.float64).ravel()


def gini(values: Iterable[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 = perfectly even, → 1 = all mass on one
    item (exactly (n-1)/n for n items). Empty or all-zero input gives 0.0."""
    x = np.sort(_as_array(values))
    if x.size == 0:
        return 0.0
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("gini needs finite values >= 0")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.size
    rank = np.arange(1, n + 1, dtype=np.float64)
    # G = Σ (2i - n - 1) x_(i) / (n Σ x), x ascending, i from 1
    return float(np.dot(2 * rank - n - 1, x) / (n * total))


def top_share(values: Iterable[float] | np.ndarray, fraction: float = 0.1) -> float:
    """Share of the total held by the top ``fraction`` of items (at least one item)."""
    x = np.sort(_as_array(values))[::-1]
    total = x.sum()
    if x.size == 0 or total == 0:
        return 0.0
    k = max(1, int(np.ceil(fraction * x.size)))
    return float(x[:k].sum() / total)


class DistributionRow(TypedDict):
    key: str
    count: int
    share: float
    target_share: float
    deviation: float  # share - target_share


def distribution_vs_target(counts: Mapping[str, int], target: Mapping[str, float]) -> list[DistributionRow]:
    """One row per key of ``counts`` ∪ ``target``, sorted by key. Target shares are
    normalized to sum to 1; an empty (or all-zero) target means uniform over the keys of
    ``counts``, as the walk quotas do."""
    keys = sorted({*counts, *target})
    total = sum(counts.values())
    target_total = sum(v for v in target.values() if v > 0)
    rows: list[DistributionRow] = []
    for key in keys:
        count = int(counts.get(key, 0))
        share = count / total if total else 0.0
        if target_total > 0:
            t_share = max(float(target.get(key, 0.0)), 0.0) / target_total
        else:
            t_share = (1.0 / len(counts)) if key in counts else 0.0
        rows.append(
            DistributionRow(key=key, count=count, share=share, target_share=t_share, deviation=share - t_share)
        )
    return rows


def l1_distance(rows: list[DistributionRow]) -> float:
    """Sum over keys of |share - target share| (0 = on target, 2 = disjoint): the L1 distance
    between a distribution and its target, as ``distribution_vs_target`` rows."""
    return float(sum(abs(row["deviation"]) for row in rows))


def coverage(used_kp_ids: Iterable[str], all_kp_ids: Iterable[str]) -> float:
    """Fraction of ``all_kp_ids`` that occur in ``used_kp_ids`` (ids outside the universe
    are ignored); 0.0 for an empty universe."""
    universe = set(all_kp_ids)
    if not universe:
        return 0.0
    return len(universe.intersection(used_kp_ids)) / len(universe)


def visit_summary(visits: np.ndarray) -> dict[str, float]:
    """Compact description of per-KP visit counters for reports."""
    v = np.asarray(visits, dtype=np.float64)
    if v.size == 0:
        return {"kps": 0, "visited_share": 0.0, "gini": 0.0, "max": 0.0, "mean": 0.0, "top10_share": 0.0}
    return {
        "kps": int(v.size),
        "visited_share": float(np.count_nonzero(v) / v.size),
        "gini": gini(v),
        "max": float(v.max()),
        "mean": float(v.mean()),
        "top10_share": top_share(v, 0.1),
    }
