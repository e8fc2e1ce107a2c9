"""Issue 6 acceptance, on the pure building blocks in the order the release runs them.

Seeded from ../shared/data: the release candidates are real questions (MMLU val in
English, CMMLU in Chinese) with planted paraphrase-level near-duplicates and planted
copies of benchmark items (MMLU dev, and the CMMLU subjects before "h", which play the
evaluation sets the user points to). The candidates are shuffled, as qa_id hashes order
them in the asset. Then: exact dedup → decontamination → near-duplicate removal → quality
flags → release files, loaded back with ``datasets``.

Measured: every planted benchmark copy caught and out of the release; >= 95% of the
planted near-duplicate pairs not both released; none of the held distinct items removed
(distinct by an independent yardstick: exact word-set Jaccard < 0.5 with every other
candidate and every benchmark item, and no planted copy).
"""

from __future__ import annotations

import random

import polars as pl

from linksyn_dagster.core.decontam import build_index, decontaminate, load_benchmarks
from linksyn_dagster.core.dedup import exact_dedup
from linksyn_dagster.core.neardup import near_dedup, text_units
from linksyn_dagster.core.quality import flag_counts, seed_languages, with_quality_flags
from linksyn_dagster.publish.release import ReleaseSummary, write_release
from linksyn_dagster_tests.core.planting import (
    CMMLU_DEV,
    MMLU_DEV,
    change_case,
    change_punctuation,
    change_words,
    cmmlu_dev,
    is_chinese,
    mmlu_dev,
    mmlu_val,
    paraphrase_edit,
    reorder_choices,
    unigram_jaccard_max,
    vocabulary,
)
from linksyn_dagster_tests.publish.hf_loading import load_with_datasets

LABELS = "ABCDEFGHIJ"


def _qa_row(seed: dict, qa_id: str, question: str, choices: list[str], answer: str, role: str, of: str | None) -> dict:
    return {"qa_id": qa_id, "discipline": seed["discipline"], "variant": "original", "question": question,
            "choices": choices, "answer": answer, "language": "zh" if is_chinese(question) else "en",
            "difficulty": random.Random(qa_id).randint(1, 5), "source_seed_ids": [seed["seed_id"]],
            "role": role, "of": of}


def _candidates(rng: random.Random) -> tuple[pl.DataFrame, list]:
    benchmark_files = sorted(MMLU_DEV.glob("*.csv")) + sorted(p for p in CMMLU_DEV.glob("*.csv") if p.stem < "h")
    held_pool = pl.concat([mmlu_val(), cmmlu_dev().filter(pl.col("subject") >= "h")])
    benchmark_pool = pl.concat([mmlu_dev(), cmmlu_dev().filter(pl.col("subject") < "h")])
    vocab = {"en": vocabulary(mmlu_val().get_column("question").to_list()),
             "zh": vocabulary(cmmlu_dev().get_column("question").to_list())}
    rows = []
    for seed in held_pool.iter_rows(named=True):
        q, choices, answer = seed["question"], seed["choices"], seed["answer"]
        rows.append(_qa_row(seed, seed["seed_id"], q, choices, answer, "candidate", None))
        if len(text_units(q)) >= 10 and rng.random() < 0.4:  # a paraphrase-level copy (5-10% of the words)
            edited = paraphrase_edit(q, rng, vocab["zh" if is_chinese(q) else "en"], rng.uniform(0.05, 0.10))
            rows.append(_qa_row(seed, seed["seed_id"] + "~", edited, choices, answer, "near_copy", seed["seed_id"]))
    edits = ["exact", "case", "punctuation", "reordered", "word_changed", "all_at_once"]
    for seed in benchmark_pool.iter_rows(named=True):
        q, choices, answer = seed["question"], seed["choices"], seed["answer"]
        words = vocab["zh" if is_chinese(q) else "en"]
        kind = rng.choice(edits if len(text_units(q)) >= 8 else edits[:4])
        if kind == "case":
            q = change_case(q, rng)
        elif kind == "punctuation":
            q = change_punctuation(q, rng)
        elif kind == "reordered":
            choices, answer = reorder_choices(choices, answer, rng)
        elif kind == "word_changed":
            q = change_words(q, rng, words)
        elif kind == "all_at_once":
            q = change_words(change_punctuation(change_case(q, rng), rng), rng, words)
            choices, answer = reorder_choices(choices, answer, rng)
        rows.append(_qa_row(seed, seed["seed_id"] + "!", q, choices, answer, "benchmark_copy", seed["seed_id"]))
    rng.shuffle(rows)
    return pl.DataFrame(rows), benchmark_files


def test_release_quality_acceptance(tmp_path):
    rng = random.Random(2026)
    candidates, benchmark_files = _candidates(rng)
    roles = dict(candidates.group_by("role").len().iter_rows())
    assert roles["near_copy"] > 500 and roles["benchmark_copy"] > 450 and roles["candidate"] > 1600

    # which candidates are distinct: an independent yardstick over everything around them
    def text(df: pl.DataFrame) -> list[str]:
        return [" ".join([q, *c]) for q, c in df.select("question", "choices").iter_rows()]

    originals = candidates.filter(pl.col("role") == "candidate")
    others = candidates.filter(pl.col("role") != "candidate")
    benchmark = load_benchmarks(benchmark_files)
    near_others = unigram_jaccard_max(text(originals), text(originals), exclude_self=True)
    near_benchmark = unigram_jaccard_max(text(originals), text(benchmark.items.rename({"answer_text": "a"})))
    with_copy = set(others.get_column("of"))
    held = originals.filter(pl.Series((near_others < 0.5) & (near_benchmark < 0.5))
                            & ~pl.col("qa_id").is_in(list(with_copy)))
    assert held.height > 1000

    # the release steps
    with_text = candidates.with_columns(answer_text=pl.col("choices").list.get(
        pl.col("answer").replace_strict({c: i for i, c in enumerate(LABELS)}, return_dtype=pl.Int64)))
    after_exact, exact = exact_dedup(with_text, ["question", "answer_text"], "qa_id")
    index = build_index(benchmark)
    after_decontam, hits = decontaminate(after_exact, index, id_col="qa_id")
    after_near, near = near_dedup(after_decontam, ["question", "answer_text"], "qa_id")
    seeds = pl.concat([mmlu_val(), cmmlu_dev()])
    release = with_quality_flags(after_near.drop("role", "of", "answer_text"), languages=seed_languages(seeds))

    # 100% of planted benchmark items caught, each with its own benchmark item, none released
    copies = candidates.filter(pl.col("role") == "benchmark_copy")
    caught = hits.join(benchmark.items.select("benchmark_id", pl.col("benchmark_row").alias("row"),
                                              pl.col("benchmark_file").alias("file")), on="benchmark_id")
    source = {f"{f}:{r}" for f, r in zip(caught.get_column("file"), caught.get_column("row"), strict=True)}
    seeds_by_id = pl.concat([mmlu_dev(), cmmlu_dev()]).select("seed_id", "source_file", "source_line")
    expected = copies.join(seeds_by_id.rename({"seed_id": "of"}), on="of")
    assert set(hits.get_column("item_id")) >= set(copies.get_column("qa_id")) - set(exact.get_column("id"))
    assert all(f"{f}:{r}" in source for f, r in expected.select("source_file", "source_line").iter_rows())
    assert not set(release.get_column("qa_id")) & set(copies.get_column("qa_id"))

    # >= 95% of planted near-duplicate pairs do not both reach the release, per language
    # (both may go when the original is itself a near-duplicate of a third item: CMMLU's
    # typo pair, MMLU history questions sharing a passage)
    released = set(release.get_column("qa_id"))
    near_copies = candidates.filter(pl.col("role") == "near_copy")
    for language in ("en", "zh"):
        pairs = near_copies.filter(pl.col("language") == language).select("qa_id", "of").rows()
        resolved = sum(1 for copy, original in pairs if not (copy in released and original in released))
        assert resolved / len(pairs) >= 0.95, language

    # 0 false removals: every held distinct item is in the release
    assert set(held.get_column("qa_id")) <= released
    # and nothing but planted items and non-distinct originals left the release
    removed = set(candidates.get_column("qa_id")) - released
    not_distinct = set(originals.get_column("qa_id")) - set(held.get_column("qa_id"))
    assert removed <= set(others.get_column("qa_id")) | not_distinct

    # the release loads with datasets and the card declares what loads
    summary = ReleaseSummary(exact_duplicates=exact.height, near_duplicates=near.height, near_dup_threshold=0.7,
                             contaminated=hits.get_column("item_id").n_unique(),
                             benchmark_files=[str(MMLU_DEV), str(CMMLU_DEV)], benchmark_items=benchmark.items.height,
                             hits_by_benchmark=dict(hits.unique("item_id").group_by(
                                 pl.col("benchmark_file").str.split("/").list.last()).len().iter_rows()),
                             quality_flags=flag_counts(release.get_column("quality_flags")))
    files = write_release(release, tmp_path / "release", summary)
    loaded = load_with_datasets(tmp_path, [("parquet", str(files.parquet)), ("json", str(files.jsonl)),
                                            ("dir", str(files.directory))])
    assert loaded["parquet"]["rows"] == loaded["json"]["rows"] == loaded["dir"]["rows"] == release.height
    assert loaded["card"]["declared_equals_loaded"] and loaded["card"]["language"] == ["en", "zh"]
    card = files.card.read_text(encoding="utf-8")
    assert f"{summary.contaminated} items removed after checking against" in card
    assert f"near-duplicates removed: {near.height} (MinHash-LSH" in card
