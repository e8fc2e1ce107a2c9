"""The release built from the verified items, on DataFrames and settings only (no Dagster,
no warehouse): ``build_release`` cleans them in the release's order, holds them to their
cells (publish/release_cells.py) and returns a ``ReleaseBuild``: the released frame, every
item left out with its reason (``dataset_drops``), the benchmark hits, the cells and the
counts the metadata, the dataset card and the manifest report (``ReleaseBuild.summary``).

The order: items the verifier did not confirm, unusable items, near-copies of one of the
item's own source seeds, exact duplicates, items overlapping an evaluation set (before
near-dedup: a contaminated item never represents a cluster), near-duplicates, then the
cells' cap (``cell_full``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from linksyn_dagster.core.decontam import HIT_SCHEMA, BenchmarkIndex, BenchmarkSet, checked_against_benchmarks
from linksyn_dagster.core.dedup import exact_dedup
from linksyn_dagster.core.neardup import near_dedup, source_copies
from linksyn_dagster.core.quality import flag_counts, quality_flags, seed_languages, unusable_reason
from linksyn_dagster.core.row_memo import memoized
from linksyn_dagster.core.tokens import qa_tokens
from linksyn_dagster.core.verification import AGREES, NOT_VERIFIED, UNVERIFIED
from linksyn_dagster.publish.release import ReleaseSummary
from linksyn_dagster.publish.release_cells import ReleaseCells, fill_cells
from linksyn_dagster.settings import LinkSynSettings

__all__ = ["CELL_FULL", "DROP_SCHEMA", "ReleaseBuild", "build_release", "wanted_seeds"]

CELL_FULL = "cell_full"
ANSWER_INDEX = {letter: index for index, letter in enumerate("ABCDEFGHIJ")}
DROP_SCHEMA = {"qa_id": pl.Utf8, "duplicate_of": pl.Utf8, "reason": pl.Utf8}
COPY_SCHEMA = {"qa_id": pl.Utf8, "seed_id": pl.Utf8, "similarity": pl.Float64}
TOKEN_SCHEMA = {"qa_id": pl.Utf8, "tokens": pl.Int64}
TRACES = ("reasoning", "answer_text", "selected", "judge_answers", "judge_levels", "difficulty_confidence",
          "round")  # they stay in the warehouse


@dataclass(frozen=True)
class ReleaseBuild:
    """What ``build_release`` made: the release, what it left out and why, and its counts."""

    dataset: pl.DataFrame  # the released items, without the traces
    drops: pl.DataFrame  # DROP_SCHEMA: every verified item left out, with the item, seed or benchmark item it copies
    hits: pl.DataFrame  # HIT_SCHEMA: the release's decontamination hits
    cells: ReleaseCells
    verdicts: dict[str, int]  # verdict -> items ({} when verification is off)
    verifier_dropped: int
    unusable: dict[str, int]  # reason (an unusable flag) -> items removed
    source_copies: int
    exact_duplicates: int
    near_duplicates: int
    cell_full: int
    benchmark_items: int  # items of the evaluation sets checked against (0: none configured)

    @property
    def contaminated(self) -> int:
        """Items removed for overlap with an evaluation set."""
        return self.hits.get_column("item_id").n_unique()

    def summary(self, settings: LinkSynSettings, *, contaminated_seeds: int,
                seed_sources: Mapping[str, int]) -> ReleaseSummary:
        """The card's and manifest's numbers; ``contaminated_seeds``: seeds found in an
        evaluation set before synthesis, ``seed_sources``: seeds per source format."""
        by_benchmark = (dict(self.hits.unique("item_id").group_by("benchmark_file").len().iter_rows())
                        if self.hits.height else {})
        return ReleaseSummary(
            verifier_samples=settings.synthesis.verifier_samples, verdicts=self.verdicts, unusable=self.unusable,
            source_copies=self.source_copies, exact_duplicates=self.exact_duplicates,
            near_duplicates=self.near_duplicates, near_dup_threshold=settings.release.near_dup_threshold,
            contaminated=self.contaminated, contaminated_seeds=contaminated_seeds,
            benchmark_files=[str(p) for p in settings.decontam.benchmark_paths],
            benchmark_items=self.benchmark_items,
            hits_by_benchmark={str(k): int(v) for k, v in by_benchmark.items()},
            seed_sources=dict(seed_sources), quality_flags=flag_counts(self.dataset.get_column("quality_flags")),
            license=settings.release.license,
        )


def wanted_seeds(verified: pl.DataFrame) -> pl.DataFrame:
    """The ids (``seed_id``) of the seeds the items were written from: those ``build_release``
    compares them with."""
    return verified.select(pl.col("source_seed_ids").explode().drop_nulls().unique().alias("seed_id"))


def _source_copies(items: pl.DataFrame, seeds: pl.DataFrame | None, threshold: float,
                   shingles: tuple[int, int]) -> pl.DataFrame:
    """The items (``qa_id``, ``seed_id``, ``similarity``) that near-copy one of their own
    source seeds: question and answer, shingled as the release dedup does."""
    if seeds is None or seeds.is_empty():
        return pl.DataFrame(schema=COPY_SCHEMA)
    text = pl.concat_str("question", pl.lit(" "), pl.coalesce("answer_text", "answer").fill_null(""))
    return source_copies(items.select("qa_id", "source_seed_ids", text.alias("text")),
                         seeds.select("seed_id", text.alias("text")), threshold=threshold, ngram_range=shingles)


def _no_duplicate(frame: pl.DataFrame, reason: str | None = None) -> pl.DataFrame:
    """``frame``'s items as drops that name no item they duplicate (``reason``: the frame's own)."""
    return frame.select("qa_id", pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
                        pl.lit(reason).alias("reason") if reason else "reason")


def build_release(verified: pl.DataFrame, *, seeds: pl.DataFrame | None, seed_language: pl.DataFrame,
                  benchmarks: tuple[BenchmarkSet, BenchmarkIndex] | None, paths: pl.DataFrame,
                  settings: LinkSynSettings, cache_dir: Path | None = None) -> ReleaseBuild:
    """The release of the ``verified`` items (``verified_qa``, every partition). ``seeds``: the
    items' source seeds (seed_id, question, answer, answer_text; see ``wanted_seeds``), None
    when they have none; ``seed_language``: discipline and language of every seed (the
    languages an item may be in); ``benchmarks``: the evaluation sets and their index, None
    when decontamination is off; ``paths``: every path asked (see ``fill_cells``);
    ``cache_dir``: where the scores of each item on its own (copies of its source seeds,
    overlap with the evaluation sets, tokens) are kept between runs, so a run scores only the
    items it has not seen (a directory for these seeds' texts, benchmarks, settings and code:
    the caller's fingerprint); None scores every item."""
    release = settings.release
    languages = seed_languages(seed_language, min_share=release.min_language_share)
    released_verdict = pl.col("verdict").is_in([AGREES, NOT_VERIFIED])
    confirmed = verified.filter(released_verdict)
    refuted = verified.filter(~released_verdict).select(
        "qa_id", pl.when(pl.col("verdict") == UNVERIFIED).then(pl.lit(UNVERIFIED))
        .otherwise(pl.lit("verifier_") + pl.col("verdict")).alias("reason"))
    # flags are per item, so computed once here; the cleaning steps below keep the column
    flagged = confirmed.with_columns(quality_flags(
        confirmed, question_col="question", choices_col="choices", answer_col="answer",
        discipline_col="discipline", languages=languages, min_question_units=release.min_question_units))
    reasons = unusable_reason(flagged.get_column("quality_flags"))
    unusable = flagged.select("qa_id").with_columns(reason=reasons).filter(pl.col("reason").is_not_null())
    # in a stable order, so the item kept of a duplicate pair never depends on run order
    ordered = flagged.filter(reasons.is_null()).sort(["discipline", "rewrite_round", "qa_id"]).with_columns(
        answer_text=pl.col("choices").list.get(
            pl.col("answer").replace_strict(ANSWER_INDEX, default=None, return_dtype=pl.Int64), null_on_oob=True))
    del confirmed, flagged  # copies of the items: each step below keeps one (memory at 1M seeds)
    shingles = (1, release.near_dup_shingle_size)
    copies = memoized(ordered, lambda fresh: _source_copies(fresh, seeds, release.near_dup_threshold, shingles),
                      id_col="qa_id", content=["question", "choices", "answer", "source_seed_ids"], result_id="qa_id",
                      schema=COPY_SCHEMA, directory=cache_dir, entry="source_copies")[0].sort("qa_id")  # one per item
    ordered = ordered.join(copies, on="qa_id", how="anti")
    kept, exact = exact_dedup(ordered, ["question", "answer_text"], "qa_id")
    del ordered
    hits = pl.DataFrame(schema=HIT_SCHEMA)
    if benchmarks is not None:  # before near-dedup: a contaminated item never represents a cluster
        hits = checked_against_benchmarks(kept, benchmarks[1], "qa_id", cache_dir, "benchmarks")[0]
        kept = kept.filter(~pl.col("qa_id").is_in(hits.get_column("item_id").unique().implode()))
    kept, near = near_dedup(kept, ["question", "answer_text"], "qa_id", threshold=release.near_dup_threshold,
                            num_perm=release.near_dup_num_perm, ngram_range=shingles)
    tokens = memoized(kept, lambda fresh: fresh.select("qa_id", qa_tokens(fresh)), id_col="qa_id",
                      content=["question", "choices", "answer", "explanation"], result_id="qa_id", schema=TOKEN_SCHEMA,
                      directory=cache_dir, entry="tokens")[0]
    kept, full, cells = fill_cells(kept.join(tokens, on="qa_id", how="left"), paths, settings)

    contaminated = hits.select(pl.col("item_id").alias("qa_id"), pl.col("benchmark_id").alias("duplicate_of"))
    drops = pl.concat([
        _no_duplicate(refuted), _no_duplicate(unusable),
        copies.select("qa_id", pl.col("seed_id").alias("duplicate_of"), pl.lit("copies_source_seed").alias("reason")),
        exact.select(pl.col("id").alias("qa_id"), "duplicate_of", "reason"),
        contaminated.unique("qa_id", keep="first", maintain_order=True).with_columns(
            reason=pl.lit("benchmark_contamination")),
        near.select(pl.col("id").alias("qa_id"), pl.col("representative_id").alias("duplicate_of"), "reason"),
        _no_duplicate(full, CELL_FULL),
    ], how="vertical_relaxed")
    return ReleaseBuild(
        dataset=kept.drop(*TRACES), drops=drops, hits=hits, cells=cells,
        verdicts=dict(verified.group_by("verdict").len().iter_rows()) if settings.synthesis.verifier_samples else {},
        verifier_dropped=refuted.height, unusable=dict(unusable.group_by("reason").len().iter_rows()),
        source_copies=copies.height, exact_duplicates=exact.height, near_duplicates=near.height,
        cell_full=full.height, benchmark_items=benchmarks[0].items.height if benchmarks else 0)
