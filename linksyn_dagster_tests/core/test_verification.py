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


def test_the_answers_settle_three_once_they_decide_whether_the_key_can_have_a_majority():
    assert settled(["A", "A"], "A", 3)  # kept whatever the third says
    assert settled(["B", "C"], "A", 3)  # the key can no longer have 2 of 3
    assert not settled(["B", None], "A", 3)  # a failed call decides nothing
    assert not settled(["A", "B"], "A", 3)
    assert not settled(["A"], "A", 3) and not settled(["B"], "A", 3)
    assert not settled(["A", "A", "B"], "A", 5)  # 2 of 5 for the key, 1 against: open
    assert settled(["B", "B", "C"], "A", 5)  # 3 of 5 against: the key cannot reach 3


@pytest.mark.parametrize("answers", [["A", "A", "B"], ["A", "B", "A"], ["B", "A", "A"], ["B", "C", "A"], ["B", "B", "A"],
                                     ["A", "B", "C"], ["A", None, "A"], [None, "B", "A"]])
def test_stopping_once_settled_never_changes_whether_the_item_is_kept(answers):
    """Asked one at a time until settled, the kept/dropped decision equals the one of all k."""
    asked = []
    for answer in answers:
        if settled(asked, "A", 3):
            break
        asked.append(answer)
    assert (verdict(asked, "A", 3) == "agrees") == (verdict(answers, "A", 3) == "agrees")
