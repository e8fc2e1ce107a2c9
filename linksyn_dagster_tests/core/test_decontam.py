"""Decontamination against benchmark files: loading with file/row provenance, planted
copies of real MMLU and CMMLU dev questions (exact and lightly edited) all caught, real
distinct questions kept, the n-gram rules (short items, stems, templates, containment,
sizes) and the file formats."""

from __future__ import annotations

import json
import random
from functools import lru_cache

import polars as pl
import pytest

from linksyn_dagster.core.decontam import (
    BENCHMARK_SCHEMA,
    HIT_SCHEMA,
    BenchmarkIndex,
    build_index,
    decontaminate,
    find_contamination,
    load_benchmarks,
)
from linksyn_dagster.core.neardup import text_units
from linksyn_dagster_tests.core.planting import (
    CMMLU_DEV,
    MMLU_DEV,
    change_case,
    change_punctuation,
    change_words,
    cmmlu_dev,
    demo_seeds,
    is_chinese,
    mmlu_dev,
    mmlu_val,
    reorder_choices,
    unigram_jaccard_max,
    vocabulary,
)


@lru_cache(maxsize=1)
def _benchmark() -> tuple[pl.DataFrame, BenchmarkIndex]:
    loaded = load_benchmarks([MMLU_DEV, CMMLU_DEV])
    return loaded.items, build_index(loaded)


def test_benchmarks_keep_their_file_and_row():
    loaded = load_benchmarks([MMLU_DEV, CMMLU_DEV])
    assert loaded.files == len(list(MMLU_DEV.glob("*.csv"))) + len(list(CMMLU_DEV.glob("*.csv")))
    assert loaded.rejects.is_empty()
    items = loaded.items
    assert items.schema == pl.Schema(BENCHMARK_SCHEMA)
    assert items.height == mmlu_dev().height + cmmlu_dev().height
    row = items.filter(pl.col("benchmark_id") == "anatomy_dev.csv:1").row(0, named=True)
    first_line = (MMLU_DEV / "anatomy_dev.csv").read_text().splitlines()[0]
    assert first_line.startswith(row["question"]) and row["benchmark_row"] == 1
    assert row["benchmark_file"].endswith("mmlu/dev/anatomy_dev.csv")
    # CMMLU: line 1 is the header, so its first question is row 2
    assert items.filter(pl.col("benchmark_id") == "agronomy.csv:2").get_column("question").item().startswith("肉牛")
    assert load_benchmarks([]).items.is_empty()


# --------------------------------------------------------------------------- planted copies


def _planted(seed: int = 6) -> pl.DataFrame:
    """Copies of every MMLU dev and CMMLU dev question as a synthesized QA would carry them:
    exact; case changed (Chinese: full/half-width punctuation); sentence punctuation
    dropped/doubled/swapped; choices reordered (answer label follows); and, for questions
    of at least 8 words (characters), one word changed and everything at once."""
    rng = random.Random(seed)
    vocab = {"en": vocabulary(mmlu_val().get_column("question").to_list()),
             "zh": vocabulary(cmmlu_dev().get_column("question").to_list())}
    rows = []
    for r in pl.concat([mmlu_dev(), cmmlu_dev()]).iter_rows(named=True):
        q, choices, answer = r["question"], r["choices"], r["answer"]
        words = vocab["zh" if is_chinese(q) else "en"]
        variants = {
            "exact": (q, choices, answer),
            "case": (change_case(q, rng), choices, answer),
            "punctuation": (change_punctuation(q, rng), choices, answer),
            "reordered": (q, *reorder_choices(choices, answer, rng)),
        }
        if len(text_units(q)) >= 8:  # one word in fewer is not a light edit
            variants["word_changed"] = (change_words(q, rng, words), choices, answer)
            variants["all_at_once"] = (change_words(change_punctuation(change_case(q, rng), rng), rng, words),
                                       *reorder_choices(choices, answer, rng))
        source = f"{r['source_file'].rsplit('/', 1)[-1]}:{r['source_line']}"
        for kind, (question, cs, label) in variants.items():
            rows.append({"qa_id": f"{r['seed_id']}-{kind}", "kind": kind, "source": source,
                         "language": "zh" if is_chinese(q) else "en", "question": question, "choices": cs,
                         "answer": label})
    return pl.DataFrame(rows)


def test_every_planted_benchmark_copy_is_caught_with_its_benchmark_item():
    _, index = _benchmark()
    planted = _planted()
    assert planted.height > 3000 and set(planted.get_column("kind")) >= {"exact", "word_changed", "reordered"}
    hits = find_contamination(planted, index, id_col="qa_id")
    assert hits.schema == pl.Schema(HIT_SCHEMA)
    matched = planted.join(
        hits.select(pl.col("item_id").alias("qa_id"), pl.col("benchmark_id").alias("source"), "method"),
        on=["qa_id", "source"], how="left",
    )
    per_kind = matched.group_by("kind", "language").agg(pl.col("method").is_not_null().mean().alias("caught"))
    assert per_kind.get_column("caught").min() == 1.0, per_kind.filter(pl.col("caught") < 1)
    # the near-duplicate test earns its keep: a changed word breaks every 13-gram of many questions
    word_changed = matched.filter(pl.col("kind") == "word_changed")
    assert (word_changed.get_column("method") == "near_duplicate").sum() > 0.2 * word_changed.height
    assert set(matched.filter(pl.col("kind") == "exact").get_column("method")) == {"ngram+near_duplicate"}

    kept, removed_hits = decontaminate(planted, index, id_col="qa_id")
    assert kept.is_empty() and removed_hits.height == hits.height


def test_real_distinct_questions_are_kept():
    benchmarks, index = _benchmark()
    candidates = pl.concat([mmlu_val(), demo_seeds()], how="diagonal_relaxed")
    hits = find_contamination(candidates, index, id_col="seed_id")

    def texts(df: pl.DataFrame) -> list[str]:
        return [" ".join([q, a, *c]) for q, a, c in df.select("question", "answer_text", "choices").iter_rows()]

    # distinct by an independent yardstick: exact word-set Jaccard < 0.5 with every benchmark item
    closest = unigram_jaccard_max(texts(candidates), texts(benchmarks))
    held = candidates.filter(pl.Series(closest < 0.5))
    assert held.height > 0.95 * candidates.height
    assert hits.filter(pl.col("item_id").is_in(held.get_column("seed_id").implode())).is_empty()

    # what is caught is real overlap: MMLU val repeats a dev question word for word, and
    # shares history passages and a logic template with dev items
    flagged = candidates.filter(pl.col("seed_id").is_in(hits.get_column("item_id").implode()))
    assert 0 < flagged.height < 20
    assert min(closest[i] for i in range(candidates.height)
               if candidates.get_column("seed_id")[i] in set(hits.get_column("item_id"))) >= 0.7
    copy = hits.filter(pl.col("benchmark_id") == "college_physics_dev.csv:2").row(0, named=True)
    assert copy["similarity"] == 1.0 and copy["overlap_fraction"] == 1.0 and copy["method"] == "ngram+near_duplicate"


def test_seeds_that_are_benchmark_items_are_flagged():
    _, index = _benchmark()
    seeds = pl.concat([demo_seeds(), mmlu_dev().head(7), cmmlu_dev().tail(5)], how="diagonal_relaxed")
    hits = find_contamination(seeds, index, id_col="seed_id", answer_col="answer")  # labels, resolved via choices
    expected = set(mmlu_dev().head(7).get_column("seed_id")) | set(cmmlu_dev().tail(5).get_column("seed_id"))
    assert set(hits.get_column("item_id")) == expected
    # the answer can also be given as text
    by_text = find_contamination(seeds, index, id_col="seed_id", answer_col="answer_text")
    assert set(by_text.get_column("item_id")) == expected


# --------------------------------------------------------------------------- the n-gram rules


def _jsonl(path, records):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def _items(*rows):
    return pl.DataFrame(
        [{"qa_id": f"i{k}", "question": q, "choices": c, "answer": a} for k, (q, c, a) in enumerate(rows)],
        schema={"qa_id": pl.String, "question": pl.String, "choices": pl.List(pl.String), "answer": pl.String},
    )


def test_short_items_match_as_a_whole_and_generic_stems_do_not(tmp_path):
    bench = _jsonl(tmp_path / "bench.jsonl", [
        {"question": "What is the capital of France?", "answer": "Paris"},
        {"question": "Which of the following is true?",
         "choices": ["Ice sinks in water", "Water boils at 100 C at sea level", "The sun orbits the earth",
                     "Sound travels in vacuum"],
         "answer": "B"},
    ])
    index = build_index(load_benchmarks(bench))
    items = _items(
        ("what is the capital of France", None, "Paris"),  # the short item itself: whole-text match
        ("What is the capital of Germany?", None, "Berlin"),  # one word apart, a different question
        ("Which of the following is true?", ["Cats are reptiles", "Copper conducts electricity",
                                             "Glass is a metal", "Ice is heavier than water"], "B"),  # same stem only
    )
    hits = find_contamination(items, index, id_col="qa_id", choices_col="choices")
    assert hits.get_column("item_id").to_list() == ["i0"]
    hit = hits.row(0, named=True)
    assert hit["matched_ngram"] == "what is the capital of france paris"
    assert hit["overlap_fraction"] == 1.0 and hit["benchmark_id"] == "bench.jsonl:1"


def test_overlap_counts_and_fractions_are_exact():
    question = "In a closed system the total energy remains constant while its form may change from one kind to another"
    answer, choices = "conservation of energy", ["conservation of energy", "entropy", "inertia", "momentum"]
    benchmark = pl.DataFrame({"question": [question], "choices": [choices], "answer_text": [answer]})
    index = build_index(benchmark, near_dup_threshold=0.99)
    q, qa = text_units(question), text_units(f"{question} {answer}")
    indexed_qa = min(len(q), len(qa) - 13 + 1)  # 13-grams of question + answer starting in the question
    # same question and answer, other distractors: all of the QA text's n-grams are there
    same_qa = _items((question, ["conservation of energy", "heat", "work", "power"], "A"))
    hit = find_contamination(same_qa, index, id_col="qa_id").row(0, named=True)
    assert (hit["overlap_count"], hit["overlap_fraction"]) == (indexed_qa, 1.0)
    # the first half of the question only: the n-grams inside it, over the QA text's count
    half = " ".join(question.split()[:15])
    hit = find_contamination(_items((half, None, "")), build_index(benchmark, min_overlap=0.0, near_dup_threshold=0.99),
                             id_col="qa_id").row(0, named=True)
    assert hit["overlap_count"] == 15 - 13 + 1
    assert hit["overlap_fraction"] == pytest.approx(3 / indexed_qa)
    assert hit["matched_ngram"] == " ".join(q[:13])


def test_shared_choices_alone_are_no_evidence():
    # n-grams made of choice text only are not indexed: a new question may reuse a benchmark's options
    options = ["The sum of the kinetic and potential energy of the system stays the same throughout the motion",
               "The kinetic energy of the system is converted entirely into heat by the friction with the air",
               "The potential energy is the larger part at every instant of the motion of the pendulum bob",
               "None of the statements above describes what happens to the energy of the swinging pendulum"]
    benchmark = pl.DataFrame({"question": ["What happens to the energy of an ideal pendulum?"], "choices": [options],
                              "answer_text": [options[0]]})
    index = build_index(benchmark, min_overlap=0.0, near_dup_threshold=0.95)
    items = _items(("Which statement is true of a frictionless roller coaster between two hills?", options, "A"),
                   ("What happens to the energy of an ideal pendulum?", options[::-1], "D"))
    assert find_contamination(items, index, id_col="qa_id").get_column("item_id").to_list() == ["i1"]


def test_templates_count_only_with_the_strict_rule():
    # MMLU's moral-scenarios items share a 30-word instruction: a val item is not a copy of a dev item
    dev = mmlu_dev().filter(pl.col("subject") == "moral_scenarios")
    val = mmlu_val().filter(pl.col("subject") == "moral_scenarios")
    benchmark = dev.select("question", "choices", "answer_text")
    default = find_contamination(val, build_index(benchmark), id_col="seed_id")
    strict = find_contamination(val, build_index(benchmark, min_overlap=0.0), id_col="seed_id")
    ngram_default = default.filter(pl.col("method").str.contains("ngram"))
    assert ngram_default.is_empty()
    assert strict.filter(pl.col("method").str.contains("ngram")).get_column("item_id").n_unique() > 0.9 * val.height
    # boilerplate found in more benchmark items than max_gram_items is not indexed: what the
    # strict rule still finds then is scenario text a val item shares with a dev item
    capped = find_contamination(val, build_index(benchmark, min_overlap=0.0, max_gram_items=3), id_col="seed_id")
    capped_ngram = capped.filter(pl.col("method").str.contains("ngram"))
    assert capped_ngram.height < 0.2 * strict.height
    assert not capped_ngram.get_column("matched_ngram").str.starts_with("for which of these two scenarios").any()


def test_a_benchmark_question_inside_a_longer_item_is_caught_by_its_ngrams():
    benchmarks, index = _benchmark()
    long_ones = mmlu_dev().filter(pl.col("question").map_elements(lambda q: len(text_units(q)), return_dtype=pl.Int64)
                                  .is_between(25, 60)).head(30)
    preamble = mmlu_val().get_column("question").head(30).to_list()
    items = long_ones.with_columns(
        question=pl.Series(preamble) + " Now consider this as well: " + pl.col("question") + " Explain briefly.")
    hits = find_contamination(items, index, id_col="seed_id")
    assert set(hits.get_column("item_id")) == set(items.get_column("seed_id"))
    assert hits.get_column("method").str.starts_with("ngram").all()
    # most are diluted too much for the near-duplicate test: only the n-grams see them
    assert (hits.get_column("method") == "ngram").sum() > 0.5 * hits.height


def test_ngram_sizes_are_configurable_and_mixed_text_is_handled():
    question = ("A sample of radioactive material has a half-life of eight days and starts with a mass of "
                "sixty grams before decaying")
    benchmark = pl.DataFrame({"question": [question], "choices": [["7.5 g", "15 g", "30 g", "60 g"]],
                              "answer_text": ["7.5 g"]})
    ten_words = "has a half-life of eight days and starts with a"
    item = _items((f"请回答：一种物质 {ten_words} 很多很多克的质量，问二十四天后剩多少？", None, "很少"))
    strict = {"min_overlap": 0.0, "near_dup_threshold": 0.99}
    assert find_contamination(item, build_index(benchmark, **strict), id_col="qa_id").is_empty()
    hits = find_contamination(item, build_index(benchmark, ngram_words=8, **strict), id_col="qa_id")
    assert hits.height == 1 and len(hits.get_column("matched_ngram").item().split()) == 8


def test_file_formats_and_chunking(tmp_path):
    picked = mmlu_dev().head(6)
    parquet = tmp_path / "bench" / "part.parquet"
    parquet.parent.mkdir()
    picked.select("question", "choices", pl.col("answer_text").alias("answer")).write_parquet(parquet)
    _jsonl(tmp_path / "bench" / "more.jsonl", [{"question": "鲸鱼属于哪一类动物？", "choices": ["鱼类", "哺乳类", "两栖类", "鸟类"],
                                                "answer": "B"}])
    loaded = load_benchmarks(tmp_path / "bench")
    assert loaded.items.height == 7 and loaded.files == 2
    index = build_index(loaded)
    items = _items(
        *[(q, c, a) for q, c, a in picked.select("question", "choices", "answer").iter_rows()],
        ("鲸鱼属于哪一类动物?", ["两栖类", "鱼类", "鸟类", "哺乳类"], "D"),
        ("An unrelated question about tides and the moon's gravity", ["a", "b"], "A"),
    )
    hits = find_contamination(items, index, id_col="qa_id")
    assert hits.get_column("item_id").to_list() == [f"i{k}" for k in range(7)]
    assert set(hits.head(6).get_column("benchmark_id")) == {f"part.parquet:{k}" for k in range(1, 7)}
    assert hits.row(6, named=True)["benchmark_id"] == "more.jsonl:1"
    chunked = find_contamination(items, index, id_col="qa_id", chunk_rows=3)
    assert chunked.equals(hits)
    assert find_contamination(items.clear(), index, id_col="qa_id").schema == pl.Schema(HIT_SCHEMA)
    kept, _ = decontaminate(items, index, id_col="qa_id")
    assert kept.get_column("qa_id").to_list() == ["i7"]
    with pytest.raises(ValueError, match="missing columns"):
        find_contamination(items, index, id_col="nope")
