from collections import Counter

import pytest

from linksyn_dagster.core.difficulty import (
    assign_levels, closest_version, median_level, mix_for, normalize_mix, settled_level, surest_version,
)

MIX = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.25, 5: 0.15}


def test_normalize_mix_accepts_string_keys_and_rescales():
    assert normalize_mix({"1": 1, "5": 3}) == {1: 0.25, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.75}


@pytest.mark.parametrize("mix, message", [
    ({"6": 1.0}, "outside 1-5"), ({"x": 1.0}, "not a number"), ({"1": -0.1, "2": 1}, "share of level 1"),
    ({"1": 0.0}, "every share is 0"),
])
def test_normalize_mix_names_the_bad_entry(mix, message):
    with pytest.raises(ValueError, match=message):
        normalize_mix(mix, "difficulty_mix_by_discipline[law]")


def test_a_discipline_mix_overrides_the_global_one():
    assert mix_for("physics", MIX, {"physics": {"5": 1}})[5] == 1.0
    assert mix_for("law", MIX, {"physics": {"5": 1}}) == pytest.approx(MIX)


@pytest.mark.parametrize("n", [1, 7, 20, 101, 1000])
def test_every_prefix_of_the_assignment_follows_the_mix(n):
    levels = assign_levels(n, MIX)
    assert len(levels) == n
    for k in range(1, n + 1):
        counts = Counter(levels[:k])
        # each level within one item of its exact share, at every prefix
        assert all(abs(counts[lv] - MIX[lv] * k) < 1 + 1e-9 for lv in MIX), (k, counts)


def test_a_level_with_no_share_is_never_asked_for():
    assert set(assign_levels(50, normalize_mix({"2": 1, "4": 1}))) == {2, 4}


def test_the_version_released_is_the_surest_taken_or_none():
    assert surest_version([False, True, True], [0.3, 0.9, 0.9]) == 1  # a tie: the first
    assert surest_version([True, True], [0.86, 0.97]) == 1
    assert surest_version([True, False], [0.86, 0.99]) == 0  # not taken: not released, however sure
    assert surest_version([False, False], [0.2, 0.5]) is None  # never on its level: no version goes on
    assert surest_version([False, True], [None, None]) == 1
    assert surest_version([], []) is None


def test_a_level_read_several_times_is_their_median_and_agreeing_first_readings_settle_it():
    assert median_level([3, 2, 4]) == 3
    assert median_level([2, 4]) == 2  # even count: the lower middle
    assert median_level([None, 5, None]) == 5
    assert median_level([None]) is None and median_level([]) is None
    # no target: a majority of k readings agreeing settles the median
    assert settled_level([3, 3], 3) and not settled_level([3, 2], 3)
    assert not settled_level([3], 3) and not settled_level([None, None], 3)


@pytest.mark.parametrize("readings, target, settled", [
    ([4, 4], 4, True), ([3, 5], 4, False), ([4, 3], 4, False), ([4], 4, False),
    ([1, 3], 4, True), ([5, 5], 4, True), ([3], 4, False), ([2], 4, True), ([4], 3, False), ([5], 3, True),
    ([None, 4], 4, False), ([None], 1, False), ([4, 4, 4], 4, True), ([3, 5, 4], 4, True),
])
def test_readings_toward_a_target_settle_once_they_decide_whether_the_median_is_on_it(readings, target, settled):
    assert settled_level(readings, 3, target) is settled


def test_settling_early_never_puts_a_version_on_target_that_all_readings_would_not():
    """Every sequence of three readings within one level of each other: reading one at a time
    until settled, the version is on target only if the median of all three is."""
    import itertools
    for target in range(1, 6):
        for readings in itertools.product(range(1, 6), repeat=3):
            if max(readings) - min(readings) > 2:
                continue
            asked = []
            for reading in readings:
                if settled_level(asked, 3, target):
                    break
                asked.append(reading)
            early = median_level(asked) == target and settled_level(asked, 3, target)
            full = median_level(list(readings)) == target
            assert not early or full, (readings, target, asked)
            if abs(readings[0] - target) < 2:  # no early stop on a far first reading: the same decision
                assert early == full, (readings, target, asked)


def test_an_open_release_keeps_the_version_on_target_else_the_closest_later_on_a_tie():
    assert closest_version([3, 4, 4], 4) == 1
    assert closest_version([2, 5], 4) == 1   # 2 is 2 away, 5 is 1 away
    assert closest_version([3, 5], 4) == 1   # tie: the rewrite
    assert closest_version([None, 2], 4) == 1
    assert closest_version([None, None], 4) == 1


def test_levels_continue_from_those_already_given():
    mix = normalize_mix(MIX)
    whole = assign_levels(40, mix)
    assert assign_levels(25, mix, Counter(whole[:15])) == whole[15:]
    # kept paths all at level 2: the new ones make up for it, first the levels furthest behind
    new = assign_levels(10, mix, {2: 10})
    assert 2 not in new[:6] and Counter(new)[3] >= Counter(new)[1]
