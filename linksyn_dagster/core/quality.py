"""Cheap per-item quality signals for the release: a ``quality_flags`` list per QA.

Flags (an item can carry several; an empty list means no check fired):

========================  ==============================================================
flag                      fires when
========================  ==============================================================
question_too_short        the question has fewer than ``min_question_units`` units
                          (normalized words; one unit per CJK character)
answer_missing            the answer is null or blank
too_few_choices           multiple choice with a single choice
answer_not_in_choices     multiple choice and a given answer is neither a label (``A``–``J``,
                          any case, full-width too) of one of the choices nor the exact
                          text of a choice
duplicate_choices         two choices are equal up to case, width (NFKC) and whitespace
empty_choice              a choice has no letter, digit or symbol ("", "—", "...")
language_mismatch         the item's language (``detect_language`` of the question, of the
                          choices if the question has no letters) is not one of its
                          discipline's seed languages
========================  ==============================================================

The release drops an item carrying one of :data:`UNUSABLE_FLAGS` (``answer_missing``,
``answer_not_in_choices``, ``duplicate_choices``, ``empty_choice``) instead of shipping it;
the other flags stay on the items as signals.

Seed languages: a discipline's accepted languages are its seeds' majority language plus
any language of at least ``min_language_share`` (default 5%) of its seeds. A strict
majority rule would flag every Chinese item of a discipline seeded from MMLU (en) and
CMMLU (zh): on MMLU dev+val with CMMLU dev, Chinese is 5–24% of most disciplines' seeds. Items whose
language cannot be told (``und``: formulas only) and disciplines without seeds are not
flagged. All checks but language detection are polars expressions; detection runs once
per distinct text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import polars as pl

from linksyn_dagster.core.dedup import normalized_text_expr
from linksyn_dagster.core.language import detect_language
from linksyn_dagster.core.neardup import units_expr

__all__ = [
    "DEFAULT_MIN_LANGUAGE_SHARE",
    "DEFAULT_MIN_QUESTION_UNITS",
    "QUALITY_FLAGS",
    "UNUSABLE_FLAGS",
    "flag_counts",
    "quality_flags",
    "seed_languages",
    "with_quality_flags",
]

QUALITY_FLAGS: dict[str, str] = {
    "question_too_short": "question shorter than the minimum number of words / CJK characters",
    "answer_missing": "no answer",
    "too_few_choices": "multiple choice with a single choice",
    "answer_not_in_choices": "answer is not the label or text of one of the choices",
    "duplicate_choices": "two choices are the same up to case, width and whitespace",
    "empty_choice": "a choice without any letter, digit or symbol",
    "language_mismatch": "language is not one of the discipline's seed languages",
}
# flags that make an item unusable: it is dropped from the release (reason = the flag), not
# shipped with a flag; the others are soft signals that stay on the item
UNUSABLE_FLAGS = ("answer_missing", "answer_not_in_choices", "duplicate_choices", "empty_choice")
DEFAULT_MIN_QUESTION_UNITS = 4
DEFAULT_MIN_LANGUAGE_SHARE = 0.05
LABELS = "ABCDEFGHIJ"
_UNDETERMINED = "und"


def seed_languages(
    seeds: pl.DataFrame,
    *,
    discipline_col: str = "discipline",
    language_col: str = "language",
    min_share: float = DEFAULT_MIN_LANGUAGE_SHARE,
) -> dict[str, list[str]]:
    """Discipline → accepted languages: the most common language of its seeds and every
    other one held by at least ``min_share`` of them (most common first; ``und`` ignored)."""
    if seeds.is_empty():
        return {}
    counts = (
        seeds.filter(pl.col(language_col).is_not_null() & (pl.col(language_col) != _UNDETERMINED))
        .group_by(discipline_col, language_col)
        .len()
        .with_columns(share=pl.col("len") / pl.col("len").sum().over(discipline_col))
        .sort([discipline_col, "len", language_col], descending=[False, True, False])
    )
    result: dict[str, list[str]] = {}
    for discipline, language, _, share in counts.iter_rows():
        accepted = result.setdefault(discipline, [])
        if not accepted or share >= min_share:
            accepted.append(language)
    return result


def _detected_languages(df: pl.DataFrame, question_col: str, choices_col: str | None) -> pl.Series:
    """``detect_language`` of the question, or of the choices when the question alone does
    not tell (choices are often numbers, units or names in another script). Each distinct
    text is detected once."""
    columns = [pl.col(question_col).cast(pl.String).fill_null("").alias("q")]
    choices = pl.col(choices_col).list.join(" ").fill_null("") if choices_col else pl.lit("")
    columns.append(choices.alias("c"))
    texts = df.select(columns)
    distinct = pl.concat([texts.get_column("q"), texts.get_column("c")]).unique().to_list()
    detected = {text: detect_language(text) for text in distinct}
    question = texts.get_column("q").replace_strict(detected, return_dtype=pl.String)
    choices = texts.get_column("c").replace_strict(detected, return_dtype=pl.String)
    return pl.select(pl.when(question == _UNDETERMINED).then(choices).otherwise(question)).to_series()


def quality_flags(
    df: pl.DataFrame,
    *,
    question_col: str = "question",
    choices_col: str | None = "choices",
    answer_col: str = "answer",
    discipline_col: str | None = "discipline",
    languages: Mapping[str, Collection[str]] | None = None,
    min_question_units: int = DEFAULT_MIN_QUESTION_UNITS,
) -> pl.Series:
    """The ``quality_flags`` (``list[str]``, in :data:`QUALITY_FLAGS` order) of every row.

    ``languages`` maps a discipline to its accepted languages (see :func:`seed_languages`);
    without it, or without ``discipline_col``, the language check is skipped.
    """
    if df.is_empty():
        return pl.Series("quality_flags", [], dtype=pl.List(pl.String))
    answer = pl.col(answer_col).cast(pl.String)
    checks: dict[str, pl.Expr] = {
        "question_too_short": units_expr(question_col).list.len() < min_question_units,
        "answer_missing": answer.is_null() | (answer.str.strip_chars() == ""),
    }
    if choices_col is not None:
        choices = pl.col(choices_col)
        count = choices.list.len().fill_null(0)
        is_mc = count > 0
        label = answer.str.normalize("NFKC").str.strip_chars().str.to_uppercase()
        index = label.replace_strict({c: i for i, c in enumerate(LABELS)}, default=None, return_dtype=pl.Int64)
        label_ok = index.is_not_null() & (index < count)
        text_ok = choices.list.contains(answer.fill_null("\x00"))
        # "-4" and "4" are different choices: only case, width and spacing are ignored here
        folded = choices.list.eval(
            pl.element().str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
        )
        # inside list.eval the element is pl.col(""), so the full normalization applies per choice
        content = choices.list.eval(normalized_text_expr(""))
        checks.update({
            "too_few_choices": count == 1,
            "answer_not_in_choices": is_mc & ~checks["answer_missing"] & ~(label_ok | text_ok),
            "duplicate_choices": is_mc & (folded.list.n_unique() < count),
            "empty_choice": is_mc & content.list.eval(pl.element() == "").list.any(),
        })
    frame = df.select(**{name: expr.fill_null(False) for name, expr in checks.items()})

    if languages and discipline_col is not None:
        detected = _detected_languages(df, question_col, choices_col)
        # accepted languages per row by a join on the discipline (not a Python list per row)
        table = pl.DataFrame(
            {"d": list(languages), "accepted": [list(v) for v in languages.values()]},
            schema={"d": pl.String, "accepted": pl.List(pl.String)},
        )
        accepted = (
            df.select(pl.col(discipline_col).cast(pl.String).alias("d"))
            .join(table, on="d", how="left", maintain_order="left")
            .get_column("accepted")
            .fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        language = pl.DataFrame(
            {"detected": detected, "accepted": accepted}
        ).select(
            (pl.col("detected") != _UNDETERMINED)
            & (pl.col("accepted").list.len() > 0)
            & ~pl.col("accepted").list.contains(pl.col("detected"))
        )
        frame = frame.with_columns(language_mismatch=language.to_series())
    present = [name for name in QUALITY_FLAGS if name in frame.columns]
    flags = frame.select(
        pl.concat_list([pl.when(pl.col(name)).then(pl.lit(name)) for name in present])
        .list.drop_nulls()
        .alias("quality_flags")
    )
    return flags.to_series()


def with_quality_flags(df: pl.DataFrame, **kwargs: object) -> pl.DataFrame:
    """``df`` with a ``quality_flags`` column (see :func:`quality_flags` for the arguments)."""
    return df.with_columns(quality_flags(df, **kwargs))  # type: ignore[arg-type]


def unusable_reason(flags: pl.Series) -> pl.Series:
    """Per row, the first of :data:`UNUSABLE_FLAGS` among its ``quality_flags``, or null."""
    first = flags.list.eval(pl.element().filter(pl.element().is_in(list(UNUSABLE_FLAGS)))).list.first()
    return first.alias("unusable_reason")


def flag_counts(flags: pl.Series) -> dict[str, int]:
    """Items per flag, every known flag listed (zeros included), plus ``flagged_items``."""
    counts = dict.fromkeys(QUALITY_FLAGS, 0)
    if flags.len():
        for name, count in flags.explode().drop_nulls().value_counts().iter_rows():
            counts[name] = int(count)
    counts["flagged_items"] = int((flags.list.len() > 0).sum()) if flags.len() else 0
    return counts
