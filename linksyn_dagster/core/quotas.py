"""Quotas: how many paths each start discipline is asked for, computed here and only here.

``quotas_from_distribution`` splits a number of paths (or items) over disciplines by the
target distribution; the walk plan records its result as the ``quotas`` of its parameters
(``walk_params``, stored with every path), with the further ``rounds`` it walks (each
``{discipline: {level: paths}}``). Everything downstream reads the quotas back from those
parameters through ``plan_asks`` / ``plan_quotas``, never from the JSON itself;
``plan_params`` is the plan a set of paths was walked with, and ``plan_max_rounds`` the
further rounds it allows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

__all__ = ["plan_asks", "plan_max_rounds", "plan_params", "plan_quotas", "quotas_from_distribution"]


def quotas_from_distribution(total: int, target: Mapping[str, float], available: Iterable[str]) -> dict[str, int]:
    """Split ``total`` paths over disciplines by the largest-remainder method.

    Only ``available`` disciplines (those with start nodes) get paths; the share of target
    disciplines that are not available goes to the others in proportion. An empty target
    means uniform over ``available``. Exact arithmetic (fractions) so the result does not
    depend on float rounding; remainder ties go to the larger share, then to the name.
    Returns every available and every target discipline (unavailable ones with 0), sums
    to ``total``. Raises ValueError when the paths cannot be placed.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    avail = sorted(set(available))
    for name, share in target.items():
        if not np.isfinite(share) or share < 0:
            raise ValueError(f"target share of {name!r} must be finite and >= 0, got {share!r}")
    result = {name: 0 for name in sorted({*avail, *target})}
    if total == 0:
        return result
    if not avail:
        raise ValueError(f"cannot place {total} paths: no discipline has start nodes")
    if target:
        shares = {d: Fraction(target[d]) for d in avail if target.get(d, 0) > 0}
        if not shares:
            raise ValueError(
                f"target_distribution gives no share to a discipline with KPs "
                f"(target: {sorted(target)}, available: {avail})"
            )
    else:
        shares = {d: Fraction(1) for d in avail}
    whole = sum(shares.values())
    exact = {d: total * s / whole for d, s in shares.items()}
    for d, q in exact.items():
        result[d] = int(q)  # floor: q >= 0
    left = total - sum(result[d] for d in exact)
    by_remainder = sorted(exact, key=lambda d: (-(exact[d] - int(exact[d])), -shares[d], d))
    for d in by_remainder[:left]:
        result[d] += 1
    return result


def plan_asks(params: Mapping[str, Any]) -> list[dict[str, int]]:
    """The paths per start discipline each round of the walk plan ``params`` asks for:
    round 0 its ``quotas``, then each further round's paths over every level."""
    return [{d: int(q) for d, q in params.get("quotas", {}).items()},
            *({d: sum(int(n) for n in levels.values()) for d, levels in request.items()}
              for request in params.get("rounds", []))]


def plan_max_rounds(params: Mapping[str, Any], default: int) -> int:
    """The further rounds the walk plan ``params`` allows, at most: the ``max_rounds`` it
    records (its run config, else LINKSYN_RELEASE__MAX_ROUNDS when it was walked), or
    ``default`` for a plan walked before the limit was recorded with it."""
    limit = params.get("max_rounds")
    return default if limit is None else int(limit)


def plan_quotas(params: Mapping[str, Any], with_rounds: bool = False) -> dict[str, int]:
    """The paths per start discipline the walk plan ``params`` asked for in its first
    round, or with ``with_rounds`` in all its rounds."""
    quotas: dict[str, int] = {}
    for ask in plan_asks(params) if with_rounds else plan_asks(params)[:1]:
        for discipline, n in ask.items():
            quotas[discipline] = quotas.get(discipline, 0) + n
    return quotas


def plan_params(paths: pl.DataFrame) -> dict[str, Any]:
    """The parameters of the walk plan ``paths`` (with their ``walk_params``) were walked
    with: partitions run again for a later round hold more rounds than those not asked in
    it, so the plan is the one with the most rounds. An empty plan for no paths."""
    if not paths.height:
        return {"quotas": {}, "rounds": []}
    plans = [json.loads(p) for p in paths.get_column("walk_params").unique().sort().to_list()]
    return max(plans, key=lambda plan: len(plan.get("rounds", [])))
