"""Quotas: the split of paths over disciplines, and the walk plan's quotas read back from its
parameters (round 0 and every further round)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.quotas import plan_asks, plan_max_rounds, plan_params, plan_quotas, quotas_from_distribution


@pytest.mark.parametrize(
    ("total", "target", "available", "expected"),
    [
        (10, {"a": 0.5, "b": 0.3, "c": 0.2}, ["a", "b", "c"], {"a": 5, "b": 3, "c": 2}),
        (7, {"a": 0.45, "b": 0.35, "c": 0.2}, ["a", "b", "c"], {"a": 3, "b": 3, "c": 1}),
        (10, {"a": 1, "b": 1, "c": 1}, ["c", "b", "a"], {"a": 4, "b": 3, "c": 3}),  # tie -> name
        (9, {"a": 0.5, "b": 0.25, "c": 0.25}, ["a", "b"], {"a": 6, "b": 3, "c": 0}),  # c redistributed
        (5, {}, ["x", "y"], {"x": 3, "y": 2}),  # empty target = uniform
        (4, {"a": 1.0}, ["a", "b"], {"a": 4, "b": 0}),  # available but untargeted -> 0
        (0, {"a": 1.0}, [], {"a": 0}),
    ],
)
def test_quotas_from_distribution(total, target, available, expected) -> None:
    assert quotas_from_distribution(total, target, available) == expected


def test_quotas_always_sum_to_total() -> None:
    rng = np.random.default_rng(0)
    names = [f"d{i}" for i in range(9)]
    for _ in range(200):
        target = {d: float(rng.random()) for d in names if rng.random() < 0.7}
        available = [d for d in names if rng.random() < 0.8] or ["d0"]
        total = int(rng.integers(0, 1000))
        if total and not any(target.get(d, 0) > 0 for d in available) and target:
            continue
        quotas = quotas_from_distribution(total, target, available)
        assert sum(quotas.values()) == total
        assert all(quotas[d] == 0 for d in quotas if d not in available)


def test_quotas_errors() -> None:
    with pytest.raises(ValueError, match="no discipline"):
        quotas_from_distribution(3, {}, [])
    with pytest.raises(ValueError, match="chemistry"):
        quotas_from_distribution(3, {"chemistry": 1.0}, ["physics"])
    with pytest.raises(ValueError):
        quotas_from_distribution(3, {"a": -1.0}, ["a"])
    with pytest.raises(ValueError):
        quotas_from_distribution(-1, {}, ["a"])


PLAN = {"quotas": {"biology": 3, "law": 0, "physics": 2},
        "rounds": [{"physics": {"3": 2, "4": 1}}, {"biology": {"2": 1}, "physics": {"5": 0}}]}


def test_plan_asks_are_the_quotas_then_each_rounds_paths_over_its_levels() -> None:
    assert plan_asks(PLAN) == [{"biology": 3, "law": 0, "physics": 2}, {"physics": 3}, {"biology": 1, "physics": 0}]
    assert plan_asks({"quotas": {}, "rounds": []}) == [{}]


def test_plan_quotas_are_the_first_rounds_or_every_rounds() -> None:
    assert plan_quotas(PLAN) == {"biology": 3, "law": 0, "physics": 2}
    assert plan_quotas(PLAN, with_rounds=True) == {"biology": 4, "law": 0, "physics": 5}
    assert plan_quotas({"quotas": {"law": 1}}, with_rounds=True) == {"law": 1}  # a plan without rounds


def test_the_plan_of_paths_is_the_one_with_the_most_rounds() -> None:
    older = json.dumps({"quotas": {"physics": 2}, "rounds": []})
    newer = json.dumps(PLAN)
    paths = pl.DataFrame({"path_id": ["p1", "p2", "p3"], "walk_params": [older, newer, older]})
    assert plan_params(paths) == PLAN
    assert plan_quotas(plan_params(paths.clear())) == {}


def test_the_round_limit_is_the_plans_or_for_a_plan_that_did_not_record_one_the_default() -> None:
    assert plan_max_rounds({**PLAN, "max_rounds": 1}, default=3) == 1
    assert plan_max_rounds({**PLAN, "max_rounds": 0}, default=3) == 0  # 0 is a limit, not "unset"
    assert plan_max_rounds(PLAN, default=3) == 3  # walked before the plan recorded its limit
    assert plan_max_rounds({**PLAN, "max_rounds": None}, default=2) == 2
