"""Exact dedup on normalized text."""

from __future__ import annotations

import polars as pl
import pytest

from linksyn_dagster.core.dedup import DROPPED_SCHEMA, exact_dedup, normalize_text, normalized_text_expr

CASES = [
    ("What is DNA?", "what is dna"),
    ("  what   IS\tdna \n", "what is dna"),
    ("Don't stop!", "dont stop"),
    ("Don’t stop", "dont stop"),
    ("Straße", "strasse"),
    ("ＦＵＬＬ　ｗｉｄｔｈ　１２３", "full width 123"),
    ("ﬁne “quoted” text…", "fine quoted text"),
    ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
    ("中文，标点。", "中文 标点"),
    ("x-ray (X–ray)", "x ray x ray"),
    ("a\x1fb", "a b"),
    ("", ""),
    (None, ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_normalize_text(text: str | None, expected: str) -> None:
    assert normalize_text(text) == expected


def test_vectorized_normalization_matches_python() -> None:
    texts = [t for t, _ in CASES]
    got = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(normalized_text_expr("t")).get_column("t").to_list()
    assert got == [normalize_text(t) for t in texts]


def _qa() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "qa_id": ["q1", "q2", "q3", "q4", "q5", "q6"],
            "question": ["What is DNA?", "what is  dna", "Define entropy.", "What is DNA?", "define ENTROPY", "What is DNA?"],
            "answer": ["A molecule", "a molecule.", "Disorder", "A polymer", "disorder!", "A molecule"],
            "created": [5, 1, 3, 2, 4, 0],
        }
    )


def test_exact_dedup_keeps_first_in_row_order() -> None:
    kept, dropped = exact_dedup(_qa(), ["question", "answer"], "qa_id")
    assert kept.columns == _qa().columns
    assert kept.get_column("qa_id").to_list() == ["q1", "q3", "q4"]
    assert dropped.schema == pl.Schema(DROPPED_SCHEMA)
    assert dropped.rows() == [
        ("q2", "q1", "exact_duplicate"),
        ("q5", "q3", "exact_duplicate"),
        ("q6", "q1", "exact_duplicate"),
    ]


def test_exact_dedup_keeps_first_by_order_column() -> None:
    kept, dropped = exact_dedup(_qa(), ["question", "answer"], "qa_id", order_col="created")
    assert kept.get_column("qa_id").to_list() == ["q3", "q4", "q6"]  # input order of survivors
    assert sorted(dropped.rows()) == [
        ("q1", "q6", "exact_duplicate"),
        ("q2", "q6", "exact_duplicate"),
        ("q5", "q3", "exact_duplicate"),
    ]


def test_exact_dedup_columns_are_not_concatenated_ambiguously() -> None:
    df = pl.DataFrame({"id": [1, 2, 3], "q": ["a b", "a", None], "a": ["c", "b c", None]})
    kept, dropped = exact_dedup(df, ["q", "a"], "id")
    assert kept.height == 3 and dropped.height == 0
    assert dropped.schema == pl.Schema(DROPPED_SCHEMA)


def test_exact_dedup_validates_columns() -> None:
    with pytest.raises(ValueError, match="nope"):
        exact_dedup(_qa(), ["nope"], "qa_id")
    with pytest.raises(ValueError):
        exact_dedup(_qa(), [], "qa_id")
