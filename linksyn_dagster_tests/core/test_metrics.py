"""Balance and coverage metrics."""

from __future__ import annotations

import numpy as np
import pytest

from linksyn_dagster.core.metrics import coverage, distribution_vs_target, gini, top_share, visit_summary


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1, 1, 1], 0.0),
        ([0, 0, 0, 1], 0.75),  # (n - 1) / n: everything on one item
        ([1, 2, 3, 4], 0.25),
        ([4, 3, 2, 1], 0.25),  # order does not matter
        ([5], 0.0),
        ([], 0.0),
        ([0, 0], 0.0),
        ([0, 1], 0.5),
    ],
)
def test_gini_known_vectors(values: list[float], expected: float) -> None:
    assert gini(values) == pytest.approx(expected)


def test_gini_properties() -> None:
    rng = np.random.default_rng(1)
    x = rng.pareto(1.5, 1000)
    assert gini(x) == pytest.approx(gini(10 * x))  # scale invariant
    assert gini(np.array(x)) == pytest.approx(gini(list(x)))
    assert gini(x) > gini(np.sqrt(x))  # flattening lowers inequality
    with pytest.raises(ValueError):
        gini([1, -1])


def test_top_share() -> None:
    assert top_share([10, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.1) == 1.0
    assert top_share([1] * 10, 0.2) == pytest.approx(0.2)
    assert top_share([], 0.1) == 0.0


def test_distribution_vs_target() -> None:
    rows = distribution_vs_target({"math": 6, "physics": 2, "art": 2}, {"math": 1, "physics": 1, "history": 2})
    assert [r["key"] for r in rows] == ["art", "history", "math", "physics"]
    by_key = {r["key"]: r for r in rows}
    assert by_key["math"]["count"] == 6
    assert by_key["math"]["share"] == pytest.approx(0.6)
    assert by_key["math"]["target_share"] == pytest.approx(0.25)
    assert by_key["math"]["deviation"] == pytest.approx(0.35)
    assert by_key["history"]["count"] == 0 and by_key["history"]["target_share"] == pytest.approx(0.5)
    assert by_key["art"]["target_share"] == 0.0
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)


def test_distribution_with_empty_target_is_uniform() -> None:
    rows = distribution_vs_target({"a": 3, "b": 1}, {})
    assert [(r["key"], r["target_share"]) for r in rows] == [("a", 0.5), ("b", 0.5)]
    assert distribution_vs_target({}, {}) == []


def test_coverage() -> None:
    assert coverage(["a", "b", "b", "zzz"], ["a", "b", "c", "d"]) == 0.5
    assert coverage([], ["a"]) == 0.0
    assert coverage(["a"], []) == 0.0


def test_visit_summary() -> None:
    summary = visit_summary(np.array([0, 0, 2, 6]))
    assert summary["kps"] == 4
    assert summary["visited_share"] == 0.5
    assert summary["max"] == 6.0 and summary["mean"] == 2.0
    assert summary["gini"] == pytest.approx(gini([0, 0, 2, 6]))
    assert visit_summary(np.array([]))["kps"] == 0


def test_l1_distance_sums_the_absolute_deviations():
    from linksyn_dagster.core.metrics import l1_distance

    rows = distribution_vs_target({"a": 6, "b": 3, "c": 1}, {"a": 0.5, "b": 0.5})
    assert l1_distance(rows) == pytest.approx(0.1 + 0.2 + 0.1)
    assert l1_distance(distribution_vs_target({"a": 5, "b": 5}, {"a": 1, "b": 1})) == 0.0
    assert l1_distance(distribution_vs_target({"a": 1}, {"b": 1})) == pytest.approx(2.0)
