"""The learned model of the generator's drift and the judge's noise (core/calibration.py),
against versions drawn from known models: it must recover them, and the versions it takes for
their target level must truly be on it, across generators and judges."""

import random

import pytest

from linksyn_dagster.core.calibration import LEVELS, LevelModel, fit, on_target, settled
from linksyn_dagster.core.difficulty import median_level

MIX = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.25, 5: 0.15}


def read(true: int, noise: float, rng: random.Random, bias: int = 0) -> int:
    """A judge off by one at ``noise`` (inward at the scale's ends), shifted by ``bias``."""
    level = min(5, max(1, true + bias))
    if rng.random() < noise:
        step = rng.choice((-1, 1))
        level = level + step if 1 <= level + step <= 5 else level - step
    return level


def versions(n: int, follow: float, skew: int, seed: int) -> list[list]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        asked = rng.choices(list(MIX), list(MIX.values()))[0]
        out.append([asked, asked if rng.random() < follow else skew, []])
    return out


def read_until_settled(vs: list[list], noise: float, seed: int, k: int = 3, confidence: float = 0.85):
    """The enhanced_qa loop: a wave of one reading each for the unsettled, refit, again."""
    rng = random.Random(seed)
    model = LevelModel.initial()
    while True:
        todo = [v for v in vs if not settled(model, v[0], v[2], k, confidence)]
        if not todo:
            return model
        for v in todo:
            v[2].append(read(v[1], noise, rng))
        model = fit([(v[0], v[2]) for v in vs])


@pytest.mark.parametrize("follow, skew, noise", [
    (0.5, 2, 0.3), (0.7, 4, 0.2), (0.35, 1, 0.3), (0.9, 3, 0.1), (0.5, 5, 0.4), (0.6, 3, 0.25),
])
def test_it_learns_the_drift_and_the_versions_it_takes_are_on_their_level(follow, skew, noise):
    vs = versions(400, follow, skew, seed=skew)
    model = read_until_settled(vs, noise, seed=7)
    if follow <= 0.7:  # a rare drift to a level next to most asks looks like the judge's noise
        assert model.drift == pytest.approx(1 - follow, abs=0.1)
        assert max(range(5), key=lambda i: model.drift_to[i]) == skew - 1
    taken = [true for asked, true, readings in vs if on_target(model, asked, readings, 0.85)]
    assert len(taken) >= 0.6 * follow * len(vs)  # most of what the generator wrote on its level
    off = sum(true != asked for (asked, true, readings) in vs if on_target(model, asked, readings, 0.85))
    assert off / len(taken) <= 0.05, off / len(taken)


def test_where_the_judge_reads_the_drift_as_the_target_agreeing_readings_are_not_enough():
    """A generator that writes level 1 two times in three and a judge that reads a level 1 as
    2 three times in ten (inward at the scale's end): asked for 2, the median of three
    readings says 2 for a fifth of the level-1 items. The model takes far fewer of them."""
    vs = versions(600, 0.35, 1, seed=11)
    model = read_until_settled(vs, 0.3, seed=5)
    by_median = [(asked, true) for asked, true, readings in vs if asked == 2 and median_level(readings) == 2]
    by_model = [(asked, true) for asked, true, readings in vs if asked == 2 and on_target(model, asked, readings, 0.85)]
    wrong_median = sum(true != 2 for _, true in by_median) / len(by_median)
    wrong_model = sum(true != 2 for _, true in by_model) / max(1, len(by_model))
    assert wrong_median > 0.15 and wrong_model < 0.06, (wrong_median, wrong_model)
    assert not settled(model, 2, [2, 2], 3, 0.85)  # the median of three is decided; the model doubts
    assert settled(model, 2, [2, 2, 2], 3, 0.85)  # k readings end it whatever the model says
    assert not on_target(model, 2, [2, 2, 2], 0.99)


def test_a_judge_that_is_never_wrong_decides_on_the_readings_the_median_needs():
    vs = versions(300, 0.6, 3, seed=2)
    model = read_until_settled(vs, 0.0, seed=1)
    assert all(on_target(model, asked, readings, 0.85) == (true == asked) for asked, true, readings in vs)
    assert max(len(readings) for _, _, readings in vs) <= 2


def test_failed_readings_say_nothing_and_no_readings_leave_the_prior():
    model = LevelModel.initial()
    assert model.posterior(4, [None, None]) == pytest.approx(model.prior(4))
    assert model.posterior(4, [5, None]) == pytest.approx(model.posterior(4, [5]))
    assert sum(model.prior(2)) == pytest.approx(1.0)
    assert fit([(3, []), (3, [None])]) == LevelModel.initial()
    assert fit([(None, [3])]) == LevelModel.initial()  # no level asked: nothing to learn drift from


def test_the_fit_is_deterministic_and_independent_of_the_order_of_versions():
    vs = versions(200, 0.5, 2, seed=5)
    rng = random.Random(0)
    obs = [(asked, [read(true, 0.3, rng) for _ in range(rng.choice((1, 2, 3)))]) for asked, true, _ in vs]
    a, b = fit(obs), fit(list(reversed(obs)))
    assert a.drift == pytest.approx(b.drift, abs=1e-6)
    assert all(x == pytest.approx(y, abs=1e-6) for x, y in zip(a.drift_to, b.drift_to))
    assert len(a.drift_to) == len(LEVELS)
