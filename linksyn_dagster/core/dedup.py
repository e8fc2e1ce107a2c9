"""Exact deduplication of QA rows on normalized text.

Two rows are duplicates when their text columns are equal after ``normalize_text`` (Unicode
NFKC, casefold, apostrophes removed, other punctuation to spaces, whitespace collapsed). The
table version runs as one vectorized polars expression (``normalized_text_expr``) that
matches ``normalize_text`` — polars lower-cases where Python casefolds, so the two casefold
differences that matter in practice (ß -> ss, final ς -> σ) are applied explicitly.
"""

from __future__ import annotations

import unicodedata

import polars as pl

__all__ = ["DROPPED_SCHEMA", "exact_dedup", "normalize_text", "normalized_text_expr"]

_APOSTROPHES = "'’ʼ‘"
_PUNCT_TABLE: dict[int, str | None] = {
    # control characters too: tabs/newlines are whitespace anyway, and a stray \x1f must
    # not be mistaken for the column separator below
    cp: " "
    for cp in range(0x10000)
    if unicodedata.category(chr(cp)).startswith("P") or unicodedata.category(chr(cp)) == "Cc"
}
for _ch in _APOSTROPHES:
    _PUNCT_TABLE[ord(_ch)] = None  # "don't" == "dont"

DROPPED_SCHEMA = {"id": pl.Utf8, "duplicate_of": pl.Utf8, "reason": pl.Utf8}
_SEP = "\x1f"  # unit separator between columns: cannot come out of normalization


def normalize_text(s: str | None) -> str:
    """NFKC, casefold, drop apostrophes, punctuation and control characters -> space,
    collapse whitespace.
    ``None`` -> ``""``."""
    if s is None:
        return ""
    return " ".join(unicodedata.normalize("NFKC", s).casefold().translate(_PUNCT_TABLE).split())


def normalized_text_expr(col: str) -> pl.Expr:
    """``normalize_text`` as a polars expression (null -> "")."""
    return (
        pl.col(col)
        .cast(pl.Utf8)
        .fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.replace_all("ς", "σ", literal=True)
        .str.replace_all(f"[{_APOSTROPHES}]", "")
        .str.replace_all(r"[\p{P}\p{Cc}]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def exact_dedup(
    df: pl.DataFrame,
    text_cols: list[str],
    id_col: str,
    order_col: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first row of every group of normalized-text duplicates.

    "First" is by ``order_col`` ascending (nulls last), ties and ``order_col=None`` by row
    position. Returns ``(kept, dropped)``: ``kept`` has the input columns and the surviving
    rows in their input order; ``dropped`` has ``id``, ``duplicate_of`` (the kept row's id)
    and ``reason`` (``"exact_duplicate"``), ids as strings, in input order.
    """
    if not text_cols:
        raise ValueError("exact_dedup: text_cols is empty")
    missing = [c for c in (*text_cols, id_col, *([order_col] if order_col else [])) if c not in df.columns]
    if missing:
        raise ValueError(f"exact_dedup: missing columns {missing}")
    row, fp, first = "__dedup_row", "__dedup_fp", "__dedup_first"
    work = df.with_row_index(row).with_columns(
        pl.concat_str([normalized_text_expr(c) for c in text_cols], separator=_SEP).alias(fp)
    )
    ranked = work.sort([order_col, row], nulls_last=True) if order_col else work
    firsts = ranked.group_by(fp, maintain_order=True).agg(pl.col(row).first().alias(first))
    work = work.join(firsts, on=fp, how="left")
    kept = work.filter(pl.col(row) == pl.col(first)).sort(row).select(df.columns)
    ids = work.select(row, pl.col(id_col).cast(pl.Utf8).alias("id"))
    dropped = (
        work.filter(pl.col(row) != pl.col(first))
        .join(ids.rename({row: first, "id": "duplicate_of"}), on=first, how="left")
        .sort(row)  # joins do not promise order
        .select(
            pl.col(id_col).cast(pl.Utf8).alias("id"),
            "duplicate_of",
            pl.lit("exact_duplicate").alias("reason"),
        )
    )
    return kept, dropped
