"""The release's cell targets, the cap, the shortfall and the next round's request."""

from __future__ import annotations

import pytest

from linksyn_dagster.core.control import (
    MIN_YIELD, PRIOR_PATHS, cap_cells, cell_targets, cell_yield, items_for_tokens, round_request, shortfall,
)
from linksyn_dagster.core.difficulty import assign_levels

FLAT = {1: 0.2, 2: 0.2, 3: 0.2, 4: 0.2, 5: 0.2}


def test_cell_targets_split_items_over_disciplines_then_levels() -> None:
    targets = cell_targets(100, {"biology": 0.5, "law": 0.3, "physics": 0.2}, ["biology", "law", "physics"],
                           {"biology": FLAT, "law": {3: 1.0}, "physics": {4: 0.5, 5: 0.5}})
    assert sum(targets.values()) == 100
    assert {lv: targets[("biology", lv)] for lv in range(1, 6)} == dict.fromkeys(range(1, 6), 10)
    assert targets[("law", 3)] == 30 and ("law", 2) not in targets  # zero-share levels have no cell
    assert targets[("physics", 4)] == targets[("physics", 5)] == 10


def test_cell_targets_give_an_unavailable_disciplines_share_to_the_others() -> None:
    targets = cell_targets(10, {"biology": 0.5, "law": 0.5}, ["biology"], {"biology": {2: 1.0}})
    assert targets == {("biology", 2): 10}


def test_cell_targets_round_by_largest_remainder() -> None:
    targets = cell_targets(7, {}, ["a", "b"], {"a": FLAT, "b": FLAT})
    assert sum(targets.values()) == 7 and max(targets.values()) == 1


def test_cap_keeps_each_cells_first_items_in_order() -> None:
    cells = [("a", 1), ("a", 1), ("a", 2), ("a", 1), ("b", 1), ("a", None), ("c", 3)]
    assert cap_cells(cells, {("a", 1): 2, ("a", 2): 5, ("b", 1): 0}) == [True, True, True, False, False, False, False]


def test_shortfall_counts_only_missing_items() -> None:
    assert shortfall({("a", 1): 3, ("a", 2): 2, ("b", 1): 1}, {("a", 1): 5, ("a", 2): 1}) == {("a", 2): 1, ("b", 1): 1}


def test_a_round_asks_for_the_shortfall_over_the_measured_yield() -> None:
    # level 1 came out half the time, level 2 in 8 of 10, in discipline a and over all
    asked = {("a", 1): 10, ("a", 2): 10}
    available = {("a", 1): 5, ("a", 2): 8}
    request = round_request({("a", 1): 3, ("a", 2): 4, ("b", 5): 2}, asked, available)
    assert request["a"] == {1: 6, 2: 5}  # 3 / 0.5, 4 / 0.8
    assert request["b"] == {5: 2}  # level 5 never asked yet: yield 1


def test_a_cells_yield_leans_on_its_levels_yield_over_every_discipline() -> None:
    asked = {("a", 3): 2, ("b", 3): 18, ("a", 4): 10}
    available = {("a", 3): 2, ("b", 3): 9, ("a", 4): 2}
    pooled = 11 / 20
    assert cell_yield(asked, available, ("a", 3)) == pytest.approx((2 + PRIOR_PATHS * pooled) / (2 + PRIOR_PATHS))
    assert cell_yield(asked, available, ("c", 3)) == pytest.approx(pooled)  # asked nothing yet: the level's
    assert cell_yield(asked, {}, ("a", 3)) == MIN_YIELD
    assert cell_yield(asked, available, ("a", 5)) == 1.0  # level 5 never asked anywhere
    assert cell_yield({("a", 1): 2}, {("a", 1): 5}, ("a", 1)) == 1.0  # capped


def test_items_for_tokens() -> None:
    assert items_for_tokens(10_000, 250.0) == 40
    assert items_for_tokens(10, 250.0) == 1
    with pytest.raises(ValueError, match="target_tokens"):
        items_for_tokens(0, 10.0)
    with pytest.raises(ValueError, match="tokens per item"):
        items_for_tokens(100, 0.0)


def test_a_requests_counts_interleaved_come_out_exactly() -> None:
    request = {2: 3, 4: 7, 5: 1}
    levels = assign_levels(11, {lv: n / 11 for lv, n in request.items()})
    assert {lv: levels.count(lv) for lv in request} == request


def test_a_round_is_limited_but_every_short_cell_keeps_a_path() -> None:
    short = {("a", 1): 10, ("a", 2): 10, ("b", 3): 1}
    asked = {("a", 1): 10, ("a", 2): 10, ("b", 3): 10}
    available = {("a", 1): 2, ("a", 2): 5, ("b", 3): 1}
    full = round_request(short, asked, available)
    assert full == {"a": {1: 50, 2: 20}, "b": {3: 5}}  # b: 1 / 0.1, floored at MIN_YIELD
    limited = round_request(short, asked, available, limit=20)
    assert limited == {"a": {1: 13, 2: 5}, "b": {3: 1}}
    assert round_request({("a", 1): 5}, {}, {}, limit=1) == {"a": {1: 1}}


def test_a_short_cell_says_why():
    from linksyn_dagster.core.control import why_short
    base = dict(held=True, asked=10, available=4, rounds_walked=1, max_rounds=3)
    assert why_short(0, **base) == ""
    assert why_short(3, **{**base, "held": False}).startswith("cells are not held")
    assert why_short(3, **base, walk_asked=8, walk_found=5) == (
        "the graph ran out: the latest round asked 8 paths from this discipline and the walk found 5")
    assert why_short(3, **{**base, "rounds_walked": 3}) == (
        "round limit: 3 of 3 further rounds walked (the walk plan's max_rounds: its run config, else "
        "LINKSYN_RELEASE__MAX_ROUNDS); 4 of the 10 paths asked for it gave a releasable item")
    # the plan's limit, whatever it is: 0 = no further round at all
    assert why_short(3, **{**base, "rounds_walked": 0, "max_rounds": 0}, next_paths=7).startswith(
        "round limit: 0 of 0 further rounds walked (the walk plan's max_rounds")
    assert why_short(3, **base, next_paths=7).startswith("round 2 asks 7 more paths for it; 4 of the 10")
    assert why_short(3, **{**base, "asked": 0}) == "no path was asked for it yet"
    assert why_short(3, **{**base, "asked": 0}, next_paths=2) == "round 2 asks 2 more paths for it; no path was asked for it yet"


def test_a_release_asks_the_next_round_only_of_the_newest_plan_and_within_the_limit():
    from linksyn_dagster.core.control import next_rounds

    request = {"law": {"2": 3}, "physics": {"4": 0}}
    walked, why = next_rounds([], request, rounds_read=0, max_rounds=2, held=True)
    assert walked == [request] and why == "round 1"
    first = [{"law": {"1": 2}}]
    assert next_rounds(first, request, rounds_read=1, max_rounds=2, held=True)[0] == [*first, request]
    # a release built from the plan before the newest round does not decide
    walked, why = next_rounds(first, request, rounds_read=0, max_rounds=2, held=True)
    assert walked is None and "its own release decides" in why
    walked, why = next_rounds(first * 2, request, rounds_read=2, max_rounds=2, held=True)
    assert walked is None and why == ("round limit: 2 of 2 further rounds walked (the walk plan's max_rounds: its "
                                      "run config, else LINKSYN_RELEASE__MAX_ROUNDS)")
    assert next_rounds(first, request, rounds_read=1, max_rounds=1, held=True)[0] is None
    walked, why = next_rounds([], {"law": {"2": 0}}, rounds_read=0, max_rounds=2, held=True)
    assert walked is None and "no further round" in why
    assert next_rounds([], request, rounds_read=0, max_rounds=2, held=False)[0] is None
