import pytest

from linksyn_dagster.core.verification import first_wave, settled, verdict


@pytest.mark.parametrize("k, wave", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_the_first_wave_is_a_majority(k, wave):
    assert first_wave(k) == wave


@pytest.mark.parametrize("answers, expected", [
    (["A", "A", "B"], "agrees"), (["A", "A"], "agrees"), (["B", "B", "A"], "disagrees"),
    (["B", "C", "D"], "no_majority"), (["A", "B", "C"], "no_majority"), (["A", None, None], "unverified"),
    (["B", "B", None], "disagrees"), ([None, None, None], "unverified"),
])
def test_the_verdict_of_three(answers, expected):
    assert verdict(answers, "A", 3) == expected


def test_two_agreeing_answers_settle_three_and_one_disagreeing_does_not():
    assert settled(["A", "A"], "A", 3)
    assert not settled(["A", "B"], "A", 3)
    assert not settled(["A"], "A", 3)
