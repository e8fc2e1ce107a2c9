"""seed_qa checks a seed against the evaluation sets once (defs/decontamination.py,
`decontaminate_seeds`): what a partition's cache entry already checked is not checked
again, and the result always equals checking every seed (core.decontam.decontaminate),
whatever was added, removed or re-ordered, and whatever the entry held before."""

from __future__ import annotations

import polars as pl

from linksyn_dagster.core.decontam import build_index, decontaminate, load_benchmarks
from linksyn_dagster.defs.decontamination import CHECKED_DIR, decontaminate_seeds
from linksyn_dagster_tests.core.planting import CMMLU_DEV, MMLU_DEV, cmmlu_dev, demo_seeds, mmlu_dev

INDEX = None


def _index():
    global INDEX
    if INDEX is None:
        INDEX = build_index(load_benchmarks([MMLU_DEV, CMMLU_DEV]))
    return INDEX


def _check(seeds: pl.DataFrame, tmp_path, fingerprint: str = "f1", discipline: str = "biology"):
    kept, hits, checked_now = decontaminate_seeds(seeds, _index(), fingerprint, tmp_path, discipline)
    want_kept, want_hits = decontaminate(seeds, _index(), id_col="seed_id", question_col="question",
                                         choices_col="choices", answer_col="answer")
    assert kept.equals(want_kept)
    assert hits.equals(want_hits)
    return hits, checked_now


def test_each_seed_is_checked_once_and_the_result_equals_checking_all(tmp_path):
    clean, dirty = demo_seeds(), pl.concat([mmlu_dev().head(6), cmmlu_dev().tail(4)], how="diagonal_relaxed")
    first = pl.concat([clean.head(20), dirty.head(5)], how="diagonal_relaxed")
    hits, checked_now = _check(first, tmp_path)
    assert checked_now == first.height and hits.get_column("item_id").n_unique() == 5

    # an increment: new seeds (two of them contaminated) in the middle, one old clean seed gone
    second = pl.concat([first.head(10), dirty.slice(5, 2), clean.slice(20, 8), first.slice(11, 14)],
                       how="diagonal_relaxed")
    hits, checked_now = _check(second, tmp_path)
    assert checked_now == 2 + 8  # only the new seeds
    assert hits.get_column("item_id").n_unique() == 7

    hits, checked_now = _check(second.reverse(), tmp_path)  # nothing new: nothing checked, same rows
    assert checked_now == 0 and hits.get_column("item_id").n_unique() == 7

    # a seed whose text changed under the same id is checked again
    edited = second.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("An edited question?"))
                                 .otherwise(pl.col("question")).alias("question"))
    assert _check(edited, tmp_path)[1] == 1


def test_other_benchmarks_or_disciplines_share_no_entry(tmp_path):
    seeds = pl.concat([demo_seeds().head(10), mmlu_dev().head(3)], how="diagonal_relaxed")
    assert _check(seeds, tmp_path, "f1", "biology")[1] == seeds.height
    assert _check(seeds, tmp_path, "f1", "chemistry")[1] == seeds.height  # its own entry
    assert _check(seeds, tmp_path, "f2", "biology")[1] == seeds.height  # other benchmarks: checked again
    assert {p.name for p in (tmp_path / CHECKED_DIR).iterdir()} == {"f2"}  # the older fingerprint's entries go


def test_an_entry_stopped_between_its_two_writes_checks_again_what_it_lacks(tmp_path):
    seeds = pl.concat([demo_seeds().head(10), mmlu_dev().head(3)], how="diagonal_relaxed")
    _check(seeds.head(8), tmp_path)
    entry = tmp_path / CHECKED_DIR / "f1"
    old_checked = (entry / "biology.parquet").read_bytes()
    _check(seeds, tmp_path)
    (entry / "biology.parquet").write_bytes(old_checked)  # the hits were written, the checked list was not
    hits, checked_now = _check(seeds, tmp_path)
    assert checked_now == 5 and hits.get_column("item_id").n_unique() == 3
