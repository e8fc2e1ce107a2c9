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


def reference_fit(observations, iterations=200, tolerance=1e-7) -> LevelModel:
    """The EM written out over every version, one at a time: what `fit`, which runs over the
    distinct (asked, readings) patterns with their counts, must agree with."""
    from linksyn_dagster.core.calibration import DRIFT_PRIOR, DRIFT_TO_PRIOR, _normalized, _prior_row
    data = [(a, [r for r in rs if r is not None]) for a, rs in observations]
    data = [(a, rs) for a, rs in data if rs and a in LEVELS]
    model = LevelModel.initial()
    for _ in range(iterations):
        drifted, followed = DRIFT_PRIOR
        to = [DRIFT_TO_PRIOR] * 5
        counts = [_prior_row(t) for t in LEVELS]
        for a, rs in data:
            post = model.posterior(a, rs)
            d = model.drift * model.drift_to[a - 1]
            share = d / ((1 - model.drift) + d)
            for i in range(5):
                via = post[i] * (share if i + 1 == a else 1.0)
                to[i] += via
                drifted += via
                for r in rs:
                    counts[i][r - 1] += post[i]
            followed += post[a - 1] * (1 - share)
        new = LevelModel(drift=drifted / (drifted + followed), drift_to=_normalized(to),
                         confusion=tuple(_normalized(row) for row in counts))
        change = max(abs(new.drift - model.drift), *(abs(x - y) for x, y in zip(new.drift_to, model.drift_to)),
                     *(abs(x - y) for rx, ry in zip(new.confusion, model.confusion) for x, y in zip(rx, ry)))
        model = new
        if change < tolerance:
            break
    return model


@pytest.mark.parametrize("follow, skew, noise", [(0.5, 2, 0.3), (0.35, 1, 0.3), (0.8, 5, 0.1)])
def test_the_fit_over_reading_patterns_equals_the_fit_over_every_version(follow, skew, noise):
    rng = random.Random(11)
    obs = [(asked, [read(true, noise, rng) if rng.random() > 0.05 else None for _ in range(rng.choice((1, 2, 3)))])
           for asked, true, _ in versions(1500, follow, skew, seed=3)]
    got, want = fit(obs), reference_fit(obs)
    assert got.drift == pytest.approx(want.drift, abs=1e-9)
    assert got.drift_to == pytest.approx(want.drift_to, abs=1e-9)
    for row, ref in zip(got.confusion, want.confusion):
        assert row == pytest.approx(ref, abs=1e-9)
