"""Decontamination against evaluation sets: n-gram overlap plus MinHash near-duplicates.

Benchmarks are the files and directories the user points to, in the seed formats of
:mod:`linksyn_dagster.core.seeds` (MMLU CSV, CMMLU CSV, JSONL, Parquet) and loaded by its
loader, so every benchmark item keeps its file and row. Items to check (synthesized QA,
seeds) are any frame with a question, optional choices and an answer (a label ``A``–``J``
resolved through the choices, or the answer text).

Texts and units
---------------
Text is cut into the units of :mod:`linksyn_dagster.core.neardup` (normalized words; one
unit per CJK character). Every QA gives two texts: ``QA`` = question + answer text and,
for multiple choice, ``QC`` = question + choices in a canonical (sorted, normalized) order,
so reordered choices do not hide a copy.

Two ways an item is contaminated by a benchmark item
----------------------------------------------------
1. **n-gram overlap** (the classic 13-gram test). A benchmark text is indexed by its
   n-grams, n = ``ngram_words`` (13) for texts that are mostly words and ``ngram_chars``
   (13) for texts that are mostly CJK characters (one character carries about a word's
   information; 13 characters is a clause). Only n-grams that start inside the question
   are indexed: an n-gram made only of answer or choice text ("True, False, ...") is not
   evidence of a copied question. A benchmark text shorter than n units is indexed as one
   gram, its whole normalized text (the usual fallback for short test items), which an
   item matches with an equal text. The item's n-grams (both sizes, any position) are
   looked up in the index; ``overlap_count`` is how many distinct indexed n-grams of the
   benchmark text the item contains and ``overlap_fraction`` that count over all indexed
   n-grams of that text (the larger of ``QA`` and ``QC``). A hit needs
   ``overlap_fraction >= min_overlap`` (default 0.5): a shared instruction template
   ("For which of these two scenarios does the main character ...") or a generic stem
   ("下列关于细胞的叙述，正确的是") covers a small part of a benchmark item, while a copy covers
   most of it. ``min_overlap = 0`` is the strict rule: any shared n-gram is a hit. An
   n-gram found in more than ``max_gram_items`` (20) benchmark items is boilerplate (an
   instruction repeated across a subject) and is not indexed.
2. **near-duplicate** of the whole item: question + answer + canonical choices, MinHash
   (unigram+bigram shingles, ``core/neardup.py``) estimated Jaccard >= ``near_dup_threshold``
   (0.7). This catches lightly edited copies of short items (a changed word can break
   every 13-gram of a 15-word question).

A benchmark row the loader rejects is not checked against (``BenchmarkSet.rejects`` lists
it). A changed word in a very short item (a 5-word question with 1-word answers) can
break every n-gram and most of the MinHash similarity; such an edit usually makes a
different question, and it is the known blind spot of text-overlap decontamination.

Scale: the index is a sorted ``uint64`` array of n-gram hashes (15k benchmark items →
about 1.5 million entries) searched with ``numpy.searchsorted`` behind a presence table
of the top hash bits; items are processed in chunks, all n-gram work vectorized; the
MinHash part is one LSH query per item (about 10 s per 100k items on one core).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from linksyn_dagster.core.dedup import normalized_text_expr
from linksyn_dagster.core.neardup import (
    CHAR_UNIT_PATTERN,
    DEFAULT_NGRAM_RANGE,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    _flatten,
    _mix,
    _ngrams,
    estimated_similarity,
    lsh_candidates,
    lsh_signatures,
    units_expr,
)
from linksyn_dagster.core.row_memo import memoized
from linksyn_dagster.core.seeds import REJECT_SCHEMA, load_seed_files

__all__ = [
    "BENCHMARK_SCHEMA",
    "DEFAULT_MIN_OVERLAP",
    "DEFAULT_NEAR_DUP_THRESHOLD",
    "DEFAULT_NGRAM_CHARS",
    "DEFAULT_NGRAM_WORDS",
    "HIT_SCHEMA",
    "BenchmarkIndex",
    "BenchmarkSet",
    "answer_text_expr",
    "build_index",
    "decontaminate",
    "find_contamination",
    "load_benchmarks",
]

DEFAULT_NGRAM_WORDS = 13
DEFAULT_NGRAM_CHARS = 13
DEFAULT_MIN_OVERLAP = 0.5
DEFAULT_NEAR_DUP_THRESHOLD = 0.7
DEFAULT_CHUNK_ROWS = 10_000
DEFAULT_MAX_GRAM_ITEMS = 20
LABELS = "ABCDEFGHIJ"

BENCHMARK_SCHEMA: dict[str, pl.DataType] = {
    "benchmark_id": pl.String(),  # "<file name>:<row>"
    "benchmark_file": pl.String(),  # path as loaded
    "benchmark_row": pl.Int64(),  # 1-based line (CSV, JSONL) or row (Parquet)
    "subject": pl.String(),
    "question": pl.String(),
    "choices": pl.List(pl.String()),
    "answer_text": pl.String(),
    "language": pl.String(),
}

HIT_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "benchmark_id": pl.String(),
    "benchmark_file": pl.String(),
    "benchmark_row": pl.Int64(),
    "benchmark_question": pl.String(),
    "method": pl.String(),  # "ngram", "near_duplicate" or "ngram+near_duplicate"
    "matched_ngram": pl.String(),  # one shared n-gram (normalized units), null if none
    "overlap_count": pl.Int64(),  # distinct indexed n-grams of the benchmark text in the item
    "overlap_fraction": pl.Float64(),  # overlap_count / indexed n-grams of that benchmark text
    "similarity": pl.Float64(),  # MinHash estimated Jaccard of the whole items
}

_TEXTS = ("qa", "qc")
_WHOLE_TEXT_TAG = np.uint64(0x3C3C_C3C3_5A5A_A5A5)


# --------------------------------------------------------------------------- benchmarks


@dataclass(frozen=True)
class BenchmarkSet:
    """Benchmark items (:data:`BENCHMARK_SCHEMA`), rows the loader rejected, files read."""

    items: pl.DataFrame
    rejects: pl.DataFrame
    files: int


def load_benchmarks(paths: Iterable[Path | str] | Path | str) -> BenchmarkSet:
    """Load benchmark files/directories with the seed loader (same formats and rules).

    A benchmark row the loader rejects cannot be checked against: callers should surface
    ``rejects`` (file, line, reason). An item found in two files is kept once, at its
    first occurrence.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        return BenchmarkSet(pl.DataFrame(schema=BENCHMARK_SCHEMA), pl.DataFrame(schema=REJECT_SCHEMA), 0)
    load = load_seed_files(paths)
    items = load.seeds.select(
        pl.concat_str(
            [pl.col("source_file").map_elements(lambda p: Path(p).name, return_dtype=pl.String),
             pl.col("source_line").cast(pl.String)],
            separator=":",
        ).alias("benchmark_id"),
        pl.col("source_file").alias("benchmark_file"),
        pl.col("source_line").alias("benchmark_row"),
        "subject",
        "question",
        "choices",
        "answer_text",
        "language",
    )
    return BenchmarkSet(items.cast(BENCHMARK_SCHEMA), load.rejects, load.files)


# --------------------------------------------------------------------------- texts


def answer_text_expr(answer_col: str, choices_col: str | None) -> pl.Expr:
    """The answer as text: a label ``A``–``J`` (any case, full-width too) within the choices
    becomes that choice's text; anything else is taken as the answer text itself."""
    answer = pl.col(answer_col).cast(pl.String)
    if choices_col is None:
        return answer
    label = answer.str.normalize("NFKC").str.strip_chars().str.to_uppercase()
    index = label.replace_strict({c: i for i, c in enumerate(LABELS)}, default=None, return_dtype=pl.Int64)
    choice = pl.col(choices_col).list.get(index, null_on_oob=True)
    return pl.when(index.is_not_null() & choice.is_not_null()).then(choice).otherwise(answer)


def _texts(df: pl.DataFrame, question_col: str, choices_col: str | None, answer_col: str | None) -> pl.DataFrame:
    """Units of the texts of every row: q (question), qa, qc (null without choices), whole."""
    question = pl.col(question_col).cast(pl.String).fill_null("")
    answer = answer_text_expr(answer_col, choices_col).fill_null("") if answer_col else pl.lit("")
    if choices_col is not None:
        # inside list.eval the element is pl.col(""), so the normalization applies per choice
        canonical = pl.col(choices_col).list.eval(normalized_text_expr("")).list.sort().list.join(" ")
        has_choices = pl.col(choices_col).list.len().fill_null(0) > 0
    else:
        canonical, has_choices = pl.lit(""), pl.lit(False)
    raw = df.select(
        question.alias("q"),
        pl.concat_str([question, answer], separator=" ").alias("qa"),
        pl.when(has_choices).then(pl.concat_str([question, canonical], separator=" ")).alias("qc"),
        pl.concat_str([question, answer, pl.when(has_choices).then(canonical).otherwise(pl.lit(""))],
                      separator=" ").alias("whole"),
    )
    return raw.select(
        units_expr("q").list.len().alias("q_len"),
        units_expr("qa").alias("qa"),
        pl.when(pl.col("qc").is_not_null()).then(units_expr("qc")).alias("qc"),
        units_expr("whole").alias("whole"),
    )


def _char_dominant(units: pl.Series) -> np.ndarray:
    share = (
        pl.DataFrame({"u": units})
        .select(pl.col("u").list.eval(pl.element().str.contains(CHAR_UNIT_PATTERN)).list.mean())
        .to_series()
        .fill_null(0.0)
    )
    return share.to_numpy() >= 0.5


def _whole_keys(units: pl.Series) -> np.ndarray:
    hashed = units.list.join(" ").hash(seed=0x5EED).to_numpy().astype(np.uint64, copy=False)
    return _mix(hashed ^ _WHOLE_TEXT_TAG)


# --------------------------------------------------------------------------- index


@dataclass(frozen=True)
class BenchmarkIndex:
    """The n-gram index and MinHash LSH of a benchmark set (see :func:`build_index`)."""

    benchmarks: pl.DataFrame
    ngram_words: int
    ngram_chars: int
    min_overlap: float
    near_dup_threshold: float
    num_perm: int
    ngram_range: tuple[int, int]
    max_gram_items: int
    keys: np.ndarray = field(repr=False)  # sorted n-gram hashes
    key_bench: np.ndarray = field(repr=False)  # benchmark row of each key
    key_text: np.ndarray = field(repr=False)  # 0 = QA, 1 = QC (int64)
    gram_counts: np.ndarray = field(repr=False)  # (benchmarks, 2): indexed grams per text
    presence: np.ndarray = field(repr=False)  # bool per top-bits slot: some key starts so
    presence_bits: int
    signatures: np.ndarray = field(repr=False)  # (benchmarks, num_perm) MinHash of each whole item
    lsh_keys: np.ndarray = field(repr=False)  # (items with text, bands) LSH band keys
    lsh_rows: np.ndarray = field(repr=False)  # the benchmark row of each lsh_keys row

    @property
    def size(self) -> int:
        return self.benchmarks.height


def build_index(
    benchmarks: pl.DataFrame | BenchmarkSet,
    *,
    ngram_words: int = DEFAULT_NGRAM_WORDS,
    ngram_chars: int = DEFAULT_NGRAM_CHARS,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    near_dup_threshold: float = DEFAULT_NEAR_DUP_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE,
    max_gram_items: int = DEFAULT_MAX_GRAM_ITEMS,
) -> BenchmarkIndex:
    """Index benchmark items (:data:`BENCHMARK_SCHEMA` columns ``question``, ``choices``,
    ``answer_text`` at least) for :func:`find_contamination`."""
    if ngram_words < 1 or ngram_chars < 1:
        raise ValueError("n-gram sizes must be >= 1")
    if not 0.0 <= min_overlap <= 1.0:
        raise ValueError(f"min_overlap must be in [0, 1], got {min_overlap}")
    bench = benchmarks.items if isinstance(benchmarks, BenchmarkSet) else benchmarks
    for name, dtype in BENCHMARK_SCHEMA.items():
        if name not in bench.columns:
            bench = bench.with_columns(pl.lit(None, dtype=dtype).alias(name))
    # hits must name their benchmark item: a frame without ids gets its row numbers
    bench = bench.with_columns(
        pl.col("benchmark_id").cast(pl.String).fill_null(pl.int_range(pl.len()).cast(pl.String))
    )
    texts = _texts(bench, "question", "choices", "answer_text")
    q_len = texts.get_column("q_len").to_numpy().astype(np.int64)

    keys: list[np.ndarray] = []
    key_bench: list[np.ndarray] = []
    key_text: list[np.ndarray] = []

    def add(values: np.ndarray, rows: np.ndarray, text_no: int) -> None:
        keys.append(values)
        key_bench.append(rows)
        key_text.append(np.full(values.size, text_no, dtype=np.int8))

    for text_no, name in enumerate(_TEXTS):
        units = texts.get_column(name).fill_null([])
        lengths = units.list.len().to_numpy().astype(np.int64)
        size = np.where(_char_dominant(units), ngram_chars, ngram_words)
        hashes, offsets = _flatten(units)
        for n in np.unique(size).tolist():
            row, pos, value = _ngrams(hashes, offsets, n)
            # n-grams of the texts indexed at this size that start inside the question
            keep = (size[row] == n) & ((pos < q_len[row]) | (q_len[row] == 0))
            add(value[keep], row[keep], text_no)
        short = np.flatnonzero((lengths > 0) & (lengths < size))
        add(_whole_keys(units.gather(short)), short, text_no)

    key_a = np.concatenate(keys)
    bench_a = np.concatenate(key_bench).astype(np.int64)
    text_a = np.concatenate(key_text)
    # one entry per (key, benchmark, text), boilerplate dropped, sorted by key for searchsorted
    unique = (
        pl.DataFrame({"k": key_a, "b": bench_a, "t": text_a})
        .unique()
        .filter(pl.col("b").n_unique().over("k") <= max_gram_items)
        .sort(["k", "b", "t"])
    )
    key_a = unique.get_column("k").to_numpy()
    bench_a = unique.get_column("b").to_numpy()
    text_a = unique.get_column("t").to_numpy().astype(np.int64)
    counts = np.zeros((bench.height, len(_TEXTS)), dtype=np.int64)
    np.add.at(counts, (bench_a, text_a), 1)

    presence_bits = int(min(28, max(16, np.ceil(np.log2(max(key_a.size, 1) * 16)))))
    presence = np.zeros(1 << presence_bits, dtype=bool)
    presence[key_a >> np.uint64(64 - presence_bits)] = True

    signatures, lsh_rows, lsh_keys = lsh_signatures(texts.get_column("whole"), threshold=near_dup_threshold,
                                                    ngram_range=ngram_range, num_perm=num_perm, seed=DEFAULT_SEED)
    return BenchmarkIndex(
        benchmarks=bench.select(list(BENCHMARK_SCHEMA)).cast(BENCHMARK_SCHEMA),
        ngram_words=ngram_words,
        ngram_chars=ngram_chars,
        min_overlap=min_overlap,
        near_dup_threshold=near_dup_threshold,
        num_perm=num_perm,
        ngram_range=ngram_range,
        max_gram_items=max_gram_items,
        keys=key_a,
        key_bench=bench_a,
        key_text=text_a,
        gram_counts=counts,
        presence=presence,
        presence_bits=presence_bits,
        signatures=signatures,
        lsh_keys=lsh_keys,
        lsh_rows=lsh_rows,
    )


# --------------------------------------------------------------------------- checking


def _ngram_overlaps(texts: pl.DataFrame, index: BenchmarkIndex) -> pl.DataFrame | None:
    """Every (item row, benchmark row) of a chunk sharing an indexed gram: overlap_count,
    overlap_fraction and the item's first shared gram (kind, pos, n); None if none."""
    sizes = sorted({index.ngram_words, index.ngram_chars})
    rows, values, kinds, positions, ns = [], [], [], [], []
    for text_no, name in enumerate(_TEXTS):
        units = texts.get_column(name).fill_null([])
        hashes, offsets = _flatten(units)
        for n in sizes:
            row, pos, value = _ngrams(hashes, offsets, n)
            rows.append(row)
            values.append(value)
            positions.append(pos)
            ns.append(np.full(row.size, n, dtype=np.int64))
            kinds.append(np.full(row.size, text_no, dtype=np.int64))
        nonempty = np.flatnonzero(units.list.len().to_numpy() > 0)
        rows.append(nonempty)
        values.append(_whole_keys(units.gather(nonempty)))
        positions.append(np.zeros(nonempty.size, dtype=np.int64))
        ns.append(np.full(nonempty.size, -1, dtype=np.int64))  # -1: the whole text
        kinds.append(np.full(nonempty.size, text_no, dtype=np.int64))
    value = np.concatenate(values)
    # a one-byte-per-slot presence table on the top hash bits rules out most grams before
    # the binary search (nearly all grams of a clean item are in no benchmark)
    maybe = np.flatnonzero(index.presence[value >> np.uint64(64 - index.presence_bits)])
    lo = np.searchsorted(index.keys, value[maybe], side="left")
    hi = np.searchsorted(index.keys, value[maybe], side="right")
    hit = hi > lo
    found, lo, hi = maybe[hit], lo[hit], hi[hit]
    if found.size == 0:
        return None
    row, value = np.concatenate(rows)[found], value[found]
    kind, pos, n = np.concatenate(kinds)[found], np.concatenate(positions)[found], np.concatenate(ns)[found]
    # each shared gram once per item, at its first place in the item (QA before QC, then position)
    order = np.lexsort((pos, kind, row))
    row, value, lo, hi, kind, pos, n = (a[order] for a in (row, value, lo, hi, kind, pos, n))
    pairs = pl.DataFrame({"row": row, "key": value})
    first = pairs.select(pl.struct("row", "key").is_first_distinct()).to_series().to_numpy()
    row, lo, hi, kind, pos, n = (a[first] for a in (row, lo, hi, kind, pos, n))

    # expand every shared gram to the benchmark entries holding it
    span = hi - lo
    gram = np.repeat(np.arange(row.size), span)
    entry = np.repeat(lo - np.cumsum(span) + span, span) + np.arange(int(span.sum()))
    benches = np.int64(index.size)
    pair = row[gram] * benches + index.key_bench[entry]
    code, count = np.unique(pair * 2 + index.key_text[entry], return_counts=True)
    code_pair, code_text = code // 2, code % 2
    fraction = count / index.gram_counts[code_pair % benches, code_text]
    hits = (
        pl.DataFrame({"pair": code_pair, "overlap_count": count, "overlap_fraction": fraction})
        # the benchmark text (QA or QC) the item covers best
        .sort(["pair", "overlap_fraction", "overlap_count"], descending=[False, True, True])
        .unique("pair", keep="first", maintain_order=True)
    )
    example = pl.DataFrame({"pair": pair, "gram": gram}).group_by("pair").agg(pl.col("gram").min())
    hits = hits.join(example, on="pair", how="left")
    first_gram = hits.get_column("gram").to_numpy()
    code_pair = hits.get_column("pair").to_numpy()
    return hits.select(
        pl.Series("row", code_pair // benches),
        pl.Series("bench", code_pair % benches),
        pl.col("overlap_count").cast(pl.Int64),
        "overlap_fraction",
        pl.Series("kind", kind[first_gram]),
        pl.Series("pos", pos[first_gram]),
        pl.Series("n", n[first_gram]),
    )


_OVERLAP_SCHEMA = {"row": pl.Int64, "bench": pl.Int64, "overlap_count": pl.Int64, "overlap_fraction": pl.Float64,
                   "kind": pl.Int64, "pos": pl.Int64, "n": pl.Int64}


def _near_duplicates(whole: pl.Series, index: BenchmarkIndex) -> tuple[pl.DataFrame, np.ndarray]:
    """(row, bench, near) of the benchmark items each row is a MinHash near-duplicate of,
    and the rows' signatures (see ``minhash_signatures``)."""
    signatures, rows, keys = lsh_signatures(whole, threshold=index.near_dup_threshold, ngram_range=index.ngram_range,
                                            num_perm=index.num_perm, seed=DEFAULT_SEED)
    row, bench = lsh_candidates(keys, rows, (index.lsh_keys, index.lsh_rows))
    near = estimated_similarity(signatures, row, bench, index.signatures) >= index.near_dup_threshold
    near = pl.DataFrame({"row": row[near], "bench": bench[near], "near": np.ones(int(near.sum()), dtype=bool)},
                        schema={"row": pl.Int64, "bench": pl.Int64, "near": pl.Boolean})
    return near, signatures


def find_contamination(
    items: pl.DataFrame,
    index: BenchmarkIndex,
    *,
    id_col: str,
    question_col: str = "question",
    choices_col: str | None = "choices",
    answer_col: str | None = "answer",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pl.DataFrame:
    """Every (item, benchmark item) pair that meets either test, as :data:`HIT_SCHEMA`,
    in item order. ``answer_col`` may hold labels (resolved through ``choices_col``) or
    answer text; ``choices_col=None`` for open questions."""
    missing = [c for c in (id_col, question_col, choices_col, answer_col) if c and c not in items.columns]
    if missing:
        raise ValueError(f"find_contamination: missing columns {missing}")
    out: list[pl.DataFrame] = []
    if items.height == 0 or index.size == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    for start in range(0, items.height, chunk_rows):
        chunk = items.slice(start, chunk_rows)
        texts = _texts(chunk, question_col, choices_col, answer_col)
        overlaps = _ngram_overlaps(texts, index)
        if overlaps is None:
            overlaps = pl.DataFrame(schema=_OVERLAP_SCHEMA)
        near, signatures = _near_duplicates(texts.get_column("whole"), index)
        hits = (
            overlaps.join(near, on=["row", "bench"], how="full", coalesce=True)
            .with_columns(
                gram=(pl.col("overlap_fraction") >= index.min_overlap).fill_null(False),
                near=pl.col("near").fill_null(False),
            )
            .filter(pl.col("gram") | pl.col("near"))
        )
        if hits.is_empty():
            continue
        hits = hits.sort("row", "bench")
        row = hits.get_column("row").to_numpy()
        bench = hits.get_column("bench").to_numpy()
        similarity = estimated_similarity(signatures, row, bench, index.signatures)
        ids = chunk.get_column(id_col).cast(pl.String)
        # the shared gram as text: a slice of the item's units (n = -1: the whole text)
        grams = pl.DataFrame({
            "qa": texts.get_column("qa").gather(row),
            "qc": texts.get_column("qc").gather(row),
            "kind": hits.get_column("kind"),
            "pos": hits.get_column("pos"),
            "n": hits.get_column("n"),
        }).select(
            pl.when(pl.col("kind").is_not_null()).then(
                pl.when(pl.col("kind") == 1).then(pl.col("qc")).otherwise(pl.col("qa"))
                .list.slice(pl.col("pos").fill_null(0), pl.when(pl.col("n") >= 0).then(pl.col("n")))
                .list.join(" ")
            ).alias("matched_ngram")
        ).to_series()
        gram, near_hit = hits.get_column("gram"), hits.get_column("near")
        method = pl.select(
            pl.when(gram & near_hit).then(pl.lit("ngram+near_duplicate"))
            .when(gram).then(pl.lit("ngram"))
            .otherwise(pl.lit("near_duplicate"))
        ).to_series()
        meta = index.benchmarks[bench.tolist()]
        out.append(
            pl.DataFrame(
                {
                    "item_id": ids.gather(row),
                    "benchmark_id": meta.get_column("benchmark_id"),
                    "benchmark_file": meta.get_column("benchmark_file"),
                    "benchmark_row": meta.get_column("benchmark_row"),
                    "benchmark_question": meta.get_column("question"),
                    "method": method,
                    "matched_ngram": grams,
                    "overlap_count": hits.get_column("overlap_count").cast(pl.Int64).fill_null(0),
                    "overlap_fraction": hits.get_column("overlap_fraction").fill_null(0.0),
                    "similarity": similarity,
                },
                schema=HIT_SCHEMA,
            )
        )
    return pl.concat(out) if out else pl.DataFrame(schema=HIT_SCHEMA)


def decontaminate(
    items: pl.DataFrame, index: BenchmarkIndex, *, id_col: str, **columns: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(kept, hits)``: the items without any hit (input order) and the hits;
    ``columns`` (``question_col``, ``choices_col``, ``answer_col``) as for
    :func:`find_contamination`."""
    hits = find_contamination(items, index, id_col=id_col, **columns)
    contaminated = hits.get_column("item_id").unique()
    kept = items.filter(~pl.col(id_col).cast(pl.String).is_in(contaminated.implode()))
    return kept, hits


def checked_against_benchmarks(items: pl.DataFrame, index: BenchmarkIndex, id_col: str, directory: Path | None,
                               entry: str) -> tuple[pl.DataFrame, int]:
    """``(hits, checked_now)``: :func:`find_contamination` of ``items`` (``question``,
    ``choices``, ``answer``), the items the cache ``entry`` under ``directory`` checked
    before taken from it (``core/row_memo.py``; ``directory`` must be for this index; None
    checks every item): the hits in item order, each item's own in the order
    ``find_contamination`` gives them."""
    return memoized(items, lambda fresh: find_contamination(
        fresh, index, id_col=id_col, question_col="question", choices_col="choices", answer_col="answer"),
        id_col=id_col, content=["question", "choices", "answer"], result_id="item_id", schema=HIT_SCHEMA,
        directory=directory, entry=entry)
