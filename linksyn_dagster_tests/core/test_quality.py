"""Per-item quality flags: each check on hand-made rows, the seed-language rule on the demo
seeds, and the real MMLU/CMMLU questions as a baseline (known defects found, little else)."""

from __future__ import annotations

import polars as pl
import pytest

from linksyn_dagster.core.quality import QUALITY_FLAGS, flag_counts, quality_flags, seed_languages, with_quality_flags
from linksyn_dagster_tests.core.planting import cmmlu_dev, demo_seeds, mmlu_dev, mmlu_val

GOOD_CHOICES = ["3 × 10^8 m/s", "340 m/s", "1 m/s", "9.8 m/s"]

CASES = [
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "A", "physics", []),
    ("光在真空中的传播速度是多少？", GOOD_CHOICES, "a", "physics", []),  # zh is a physics seed language; any case
    ("光在真空中的传播速度是多少？", GOOD_CHOICES, "Ａ", "physics", []),  # full-width label
    ("Why?", GOOD_CHOICES, "A", "physics", ["question_too_short"]),
    ("为什么？", GOOD_CHOICES, "A", "physics", ["question_too_short"]),  # 3 characters
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "  ", "physics", ["answer_missing"]),
    ("What is the speed of light in vacuum?", GOOD_CHOICES, None, "physics", ["answer_missing"]),
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "E", "physics", ["answer_not_in_choices"]),
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "AB", "physics", ["answer_not_in_choices"]),
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "340 m/s", "physics", []),  # answer as choice text
    ("What is the speed of light in vacuum?", ["1 m/s"], "A", "physics", ["too_few_choices"]),
    ("What is the speed of light in vacuum?", ["340 m/s", "340  M/S", "1 m/s"], "A", "physics",
     ["duplicate_choices"]),
    ("What is the value of |3 + 5| - |-4| here?", ["4", "-4", "12", "8"], "A", "mathematics", []),  # -4 is not 4
    ("What is the speed of light in vacuum?", ["340 m/s", "—", "1 m/s"], "A", "physics", ["empty_choice"]),
    ("What is the speed of light in vacuum?", None, "About 300,000 km/s", "physics", []),  # open question
    ("Какова скорость света в вакууме?", GOOD_CHOICES, "A", "physics", ["language_mismatch"]),
    ("什么是合同的要约与承诺？", ["甲", "乙"], "A", "law", ["language_mismatch"]),  # law seeds are English
    ("12 + 30 = ?", ["42", "32"], "A", "history", []),  # no language to tell: not judged (history seeds are zh)
    ("What is the speed of light in vacuum?", GOOD_CHOICES, "A", "astrology", []),  # no seeds: not judged
    ("Hi", ["a", "a"], "Z", "law", ["question_too_short", "answer_not_in_choices", "duplicate_choices"]),
]


@pytest.fixture(scope="module")
def languages() -> dict[str, list[str]]:
    return seed_languages(demo_seeds())


def test_seed_languages_keep_minorities_above_the_share(languages):
    assert languages["physics"] == ["en", "zh"]  # 8 en, 2 zh demo seeds
    assert languages["law"] == ["en"] and languages["history"] == ["zh"]
    assert seed_languages(demo_seeds(), min_share=0.5)["physics"] == ["en"]  # the majority always stays
    assert seed_languages(demo_seeds().clear()) == {}


@pytest.mark.parametrize(("question", "choices", "answer", "discipline", "expected"), CASES)
def test_each_check(languages, question, choices, answer, discipline, expected):
    row = pl.DataFrame({"question": [question], "choices": [choices], "answer": [answer], "discipline": [discipline]},
                       schema={"question": pl.String, "choices": pl.List(pl.String), "answer": pl.String,
                               "discipline": pl.String})
    assert quality_flags(row, languages=languages).to_list() == [expected]


def test_vectorized_table_matches_row_by_row(languages):
    frame = pl.DataFrame([{"question": q, "choices": c, "answer": a, "discipline": d} for q, c, a, d, _ in CASES],
                         schema={"question": pl.String, "choices": pl.List(pl.String), "answer": pl.String,
                                 "discipline": pl.String})
    flagged = with_quality_flags(frame, languages=languages)
    assert flagged.get_column("quality_flags").to_list() == [expected for *_, expected in CASES]
    counts = flag_counts(flagged.get_column("quality_flags"))
    assert set(counts) == {*QUALITY_FLAGS, "flagged_items"}
    assert counts["flagged_items"] == sum(1 for *_, e in CASES if e)
    assert counts["language_mismatch"] == 2 and counts["duplicate_choices"] == 2
    # without seed languages the language check is off
    assert "language_mismatch" not in quality_flags(frame).explode().to_list()
    assert quality_flags(frame.clear()).to_list() == []


def test_real_questions_baseline():
    seeds = pl.concat([mmlu_dev(), mmlu_val(), cmmlu_dev()])
    flags = quality_flags(seeds, languages=seed_languages(seeds))
    counts = flag_counts(flags)
    # real benchmark data is clean on the structural checks ...
    assert counts["answer_missing"] == counts["answer_not_in_choices"] == counts["too_few_choices"] == 0
    assert counts["empty_choice"] == 0
    # ... apart from a few genuinely repeated choices in MMLU
    repeated = seeds.filter(flags.list.contains("duplicate_choices"))
    assert 0 < repeated.height <= 10
    assert all(len(set(c)) < len(c) for c in repeated.get_column("choices").to_list())
    # and sentence-completion stems ("The pleura") are short, which the flag says and no more
    assert counts["question_too_short"] < 0.02 * seeds.height
    assert counts["flagged_items"] < 0.03 * seeds.height


def test_language_check_keeps_row_order_with_unknown_and_missing_disciplines():
    """Accepted languages are joined per row: rows of many disciplines, in any order, with
    disciplines the seeds never had (no check) and null disciplines (no check)."""
    rows = [("什么是牛顿第二定律的内容？", "law"), ("What is the unit of electric charge?", "history"),
            ("什么是合同的要约与承诺？", None), ("Какова скорость света в вакууме?", "unknown_discipline"),
            ("What is the speed of light in vacuum?", "law")] * 3
    frame = pl.DataFrame({"question": [q for q, _ in rows], "choices": [GOOD_CHOICES] * len(rows),
                          "answer": ["A"] * len(rows), "discipline": [d for _, d in rows]},
                         schema={"question": pl.String, "choices": pl.List(pl.String), "answer": pl.String,
                                 "discipline": pl.String})
    languages = {"law": ["en"], "history": ["zh"]}
    flags = quality_flags(frame, languages=languages).to_list()
    assert flags == [["language_mismatch"], ["language_mismatch"], [], [], []] * 3


def test_unusable_reason_is_the_first_hard_flag():
    from linksyn_dagster.core.quality import UNUSABLE_FLAGS, unusable_reason

    flags = pl.Series("quality_flags", [[], ["question_too_short"], ["answer_not_in_choices", "language_mismatch"],
                                        ["question_too_short", "duplicate_choices", "empty_choice"]],
                      dtype=pl.List(pl.String))
    assert unusable_reason(flags).to_list() == [None, None, "answer_not_in_choices", "duplicate_choices"]
    assert set(UNUSABLE_FLAGS) <= set(QUALITY_FLAGS) and "language_mismatch" not in UNUSABLE_FLAGS
