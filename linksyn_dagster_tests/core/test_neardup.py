"""Near-duplicate removal (MinHash-LSH): units and shingles, LSH parameters, clustering
rules, and the release acceptance figures on real MMLU/CMMLU questions with planted
near-duplicates."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.neardup import (
    NEAR_DUP_SCHEMA,
    band_keys,
    estimated_similarity,
    lsh_candidates,
    lsh_params,
    minhash_signatures,
    near_dedup,
    shingle_hashes,
    text_units,
    units_expr,
)
from linksyn_dagster_tests.core.planting import (
    cmmlu_dev,
    is_chinese,
    mmlu_dev,
    mmlu_val,
    paraphrase_edit,
    unigram_jaccard_max,
    vocabulary,
)

# --------------------------------------------------------------------------- units, shingles


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("What is DNA?", ["what", "is", "dna"]),
        ("DNA复制的场所", ["dna", "复", "制", "的", "场", "所"]),
        ("光速 c = 3×10^8 m/s", ["光", "速", "c", "=", "3×10^8", "m", "s"]),
        ("ＦＵＬＬ width, ひらがな", ["full", "width", "ひ", "ら", "が", "な"]),
        ("  ", []),
        (None, []),
    ],
)
def test_units_are_words_and_cjk_characters(text, units):
    assert text_units(text) == units


def _python_shingles(units: list[str], low: int, high: int) -> set[tuple[str, ...]]:
    shingles = {tuple(units[i : i + n]) for n in range(low, high + 1) for i in range(len(units) - n + 1)}
    return shingles or ({tuple(units)} if units else set())


@pytest.mark.parametrize("ngram_range", [(1, 2), (2, 3), (3, 5)])
def test_bulk_shingle_hashes_match_a_python_reference(ngram_range):
    texts = [*mmlu_dev().get_column("question").head(40), *cmmlu_dev().get_column("question").head(40),
             "", "one", "two words"]
    units = pl.DataFrame({"t": texts}).select(units_expr("t")).to_series()
    rows, hashes = shingle_hashes(units, ngram_range)
    assert np.all(np.diff(rows) >= 0)
    for i, text in enumerate(texts):
        expected = _python_shingles(text_units(text), *ngram_range)
        got = hashes[rows == i]
        # as many distinct hashes as distinct shingles: right windows, no collisions
        assert len(set(got.tolist())) == len(expected), text


def test_minhash_estimates_track_the_exact_jaccard():
    questions = mmlu_val().get_column("question").head(60).to_list()
    rng = random.Random(5)
    vocab = vocabulary(questions)
    edited = [paraphrase_edit(q, rng, vocab, 0.15) for q in questions]
    units = pl.DataFrame({"t": questions + edited}).select(units_expr("t")).to_series()
    sigs, has = minhash_signatures(units, num_perm=256)
    assert has.all()
    errors = []
    for i in range(len(questions)):
        a, b = _python_shingles(text_units(questions[i]), 1, 2), _python_shingles(text_units(edited[i]), 1, 2)
        exact = len(a & b) / len(a | b)
        estimate = estimated_similarity(sigs, np.array([i]), np.array([len(questions) + i]))[0]
        errors.append(abs(estimate - exact))
    assert np.mean(errors) < 0.04 and max(errors) < 0.15


def test_signatures_are_the_least_image_of_each_rows_shingles(monkeypatch):
    """minhash_signatures: slot k of a row is the least a_k*h + b_k mod 2^32 over the row's
    shingle values (computed here in plain numpy), a row without units has none, and a
    row's signature does not depend on the other rows."""
    from linksyn_dagster.core.neardup import _permutations

    texts = mmlu_val().get_column("question").head(40).to_list() + ["", "   ", "one"]
    units = pl.DataFrame({"t": texts}).select(units_expr("t")).to_series()
    signatures, has = minhash_signatures(units, num_perm=64, seed=9)
    assert has.tolist() == [True] * 40 + [False, False, True]
    assert (signatures[~has] == np.iinfo(np.uint32).max).all()
    rows, values = shingle_hashes(units)
    a, b = _permutations(64, 9)
    for i in np.flatnonzero(has).tolist():
        h = (values[rows == i] >> np.uint64(32)).astype(np.uint64)
        expected = ((np.multiply.outer(h, a.astype(np.uint64)) + b) & np.uint64(0xFFFF_FFFF)).min(axis=0)
        assert np.array_equal(signatures[i], expected.astype(np.uint32)), i
    alone, _ = minhash_signatures(units.slice(3, 1), num_perm=64, seed=9)
    assert np.array_equal(alone[0], signatures[3])
    from linksyn_dagster.core import neardup

    for rows in (1, 7):  # rows made a slice at a time: the same signatures
        monkeypatch.setattr(neardup, "SIGNATURE_ROWS", rows)
        sliced, sliced_has = minhash_signatures(units, num_perm=64, seed=9)
        assert np.array_equal(sliced, signatures) and np.array_equal(sliced_has, has)


def test_lsh_candidates_are_the_pairs_sharing_a_band():
    """lsh_candidates returns exactly the id pairs whose band keys agree in some band, each
    once (brute force over all pairs), within one set and against another set."""
    rng = np.random.default_rng(3)
    # few distinct slot values, so many rows share bands and some share several
    signatures = rng.integers(0, 3, size=(60, 12), dtype=np.uint32)
    keys = band_keys(signatures, 4, 3)
    ids = np.arange(100, 160)
    left, right = lsh_candidates(keys, ids)
    expected = sorted((ids[i], ids[j]) for i in range(60) for j in range(i + 1, 60)
                      if (keys[i] == keys[j]).any())
    assert expected and list(zip(left.tolist(), right.tolist())) == [(int(a), int(b)) for a, b in expected]
    other = rng.integers(0, 3, size=(25, 12), dtype=np.uint32)
    other_keys, other_ids = band_keys(other, 4, 3), np.arange(25) * 2
    left, right = lsh_candidates(keys, ids, (other_keys, other_ids))
    expected = sorted((ids[i], other_ids[j]) for i in range(60) for j in range(25)
                      if (keys[i] == other_keys[j]).any())
    assert expected and list(zip(left.tolist(), right.tolist())) == [(int(a), int(b)) for a, b in expected]
    with pytest.raises(ValueError, match="need 15 slots"):
        band_keys(signatures, 5, 3)


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.7, 128), (0.8, 64), (0.9, 256), (0.3, 16)])
def test_lsh_params_reach_the_recall_target(threshold, num_perm):
    bands, rows = lsh_params(threshold, num_perm)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.99
    # and it is the largest row count that can: one more row per band cannot reach it
    more = rows + 1
    assert more * max(1, num_perm // more) > num_perm or \
        1 - (1 - threshold**more) ** (num_perm // more) < 0.99


# --------------------------------------------------------------------------- clustering rules


def _frame(texts: list[str | None], ids: list | None = None) -> pl.DataFrame:
    return pl.DataFrame({"id": ids or [f"q{i}" for i in range(len(texts))], "text": texts},
                        schema_overrides={"text": pl.String})


BASE = "A car starts from rest and accelerates uniformly at three metres per second squared for four seconds"


def test_near_copies_cluster_behind_the_first_row():
    texts = [BASE, "An unrelated question about contract law and consideration in common law systems",
             BASE.replace("four", "4"), BASE.upper() + "!", ""]
    kept, dropped = near_dedup(_frame(texts), ["text"], "id")
    assert kept.get_column("id").to_list() == ["q0", "q1", "q4"]  # empty text is kept, never clustered
    assert dropped.schema == pl.Schema(NEAR_DUP_SCHEMA)
    assert dropped.get_column("id").to_list() == ["q2", "q3"]
    assert set(dropped.get_column("representative_id")) == {"q0"}
    assert dropped.get_column("cluster_id").unique().to_list() == [0]
    assert dropped.get_column("reason").unique().to_list() == ["near_duplicate"]
    assert dropped.filter(pl.col("id") == "q3").get_column("similarity").item() == 1.0
    assert (dropped.get_column("linked_similarity") >= 0.7).all()


def test_representative_is_the_first_in_the_given_order():
    texts = [BASE.replace("four", "4"), BASE]
    kept, dropped = near_dedup(_frame(texts, ids=[7, 3]), ["text"], "id")  # integer ids come back as strings
    assert kept.get_column("id").to_list() == [7]
    assert dropped.select("id", "representative_id").row(0) == ("3", "7")


def test_chains_form_one_cluster_with_its_first_member_kept():
    # sliding windows of distinct words: J(a, b) = J(b, c) = 0.66 (unigrams + bigrams), J(a, c) = 0.42
    words = [f"w{i}" for i in range(56)]
    texts = [" ".join(words[0:40]), " ".join(words[8:48]), " ".join(words[16:56])]
    kept, dropped = near_dedup(_frame(texts), ["text"], "id", threshold=0.55, num_perm=256)
    assert kept.get_column("id").to_list() == ["q0"]
    assert dropped.get_column("representative_id").to_list() == ["q0", "q0"]
    assert dropped.get_column("cluster_id").n_unique() == 1
    c = dropped.row(1, named=True)
    assert c["linked_to"] == "q1" and c["linked_similarity"] >= 0.55
    assert c["similarity"] < 0.55  # in the cluster through q1, not because it resembles q0


def test_threshold_is_monotone_and_results_are_deterministic():
    df = pl.concat([mmlu_dev(), cmmlu_dev()]).select("seed_id", "question", "answer_text")
    rng = random.Random(11)
    vocab = vocabulary(df.get_column("question").to_list())
    planted = df.head(80).with_columns(
        seed_id=pl.col("seed_id") + "-copy",
        question=pl.Series([paraphrase_edit(q, rng, vocab, 0.1) for q in df.head(80).get_column("question")]),
    )
    data = pl.concat([df, planted])
    removed = {}
    for threshold in (0.5, 0.7, 0.9):
        _, dropped = near_dedup(data, ["question", "answer_text"], "seed_id", threshold=threshold)
        removed[threshold] = set(dropped.get_column("id"))
    assert removed[0.9] <= removed[0.7] <= removed[0.5]
    assert len(removed[0.9]) < len(removed[0.5])
    again = near_dedup(data, ["question", "answer_text"], "seed_id", threshold=0.7)[1]
    assert set(again.get_column("id")) == removed[0.7]


def test_translations_are_not_duplicates():
    # real MMLU/demo questions and their Chinese translations (numbers and formulas shared)
    pairs = [
        ("Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.", "求所有 c ∈ Z_3，使得 Z_3[x]/(x^2 + c) 是一个域。"),
        ("A car starts from rest and accelerates uniformly at 3 m/s^2. What is its speed after 4 s?",
         "一辆汽车从静止开始以 3 m/s^2 的加速度匀加速运动。4 s 后它的速度是多少？"),
        ("What is the embryological origin of the hyoid bone?", "舌骨的胚胎学起源是什么？"),
    ]
    answers = [("0", "0"), ("12 m/s", "12 m/s"), ("The second and third pharyngeal arches", "第二和第三咽弓")]
    texts = [t for pair in pairs for t in pair]
    df = pl.DataFrame({"id": [f"p{i}" for i in range(len(texts))], "question": texts,
                       "answer": [a for pair in answers for a in pair]})
    kept, dropped = near_dedup(df, ["question", "answer"], "id", threshold=0.5)
    assert dropped.is_empty() and kept.height == len(texts)


def test_edge_cases():
    empty = pl.DataFrame(schema={"id": pl.String, "text": pl.String})
    kept, dropped = near_dedup(empty, ["text"], "id")
    assert kept.is_empty() and dropped.schema == pl.Schema(NEAR_DUP_SCHEMA)
    kept, dropped = near_dedup(_frame([None, "", "  "]), ["text"], "id")
    assert kept.height == 3 and dropped.is_empty()
    with pytest.raises(ValueError, match="missing columns"):
        near_dedup(_frame(["x"]), ["nope"], "id")
    with pytest.raises(ValueError, match="threshold"):
        near_dedup(_frame(["x"]), ["text"], "id", threshold=1.0)


# --------------------------------------------------------------------------- acceptance on real data


def _planted_fixture(seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Real MMLU val (en) and CMMLU dev (zh) questions first, then paraphrase-level copies
    (5-10% of the words, or characters, edited) of about half of those with >= 10 units."""
    originals = pl.concat([mmlu_val(), cmmlu_dev()]).select("seed_id", "question", "answer_text")
    rng = random.Random(seed)
    vocab = {"en": vocabulary(mmlu_val().get_column("question").to_list()),
             "zh": vocabulary(cmmlu_dev().get_column("question").to_list())}
    rows = []
    for r in originals.iter_rows(named=True):
        if len(text_units(r["question"])) < 10 or rng.random() < 0.5:
            continue  # one edit in a shorter question would be more than 10% of it
        language = "zh" if is_chinese(r["question"]) else "en"
        question = paraphrase_edit(r["question"], rng, vocab[language], rng.uniform(0.05, 0.10))
        rows.append({"seed_id": r["seed_id"] + "-copy", "question": question, "answer_text": r["answer_text"],
                     "copy_of": r["seed_id"], "language": language})
    return originals, pl.DataFrame(rows)


def test_planted_near_duplicates_are_removed_and_distinct_items_kept():
    originals, planted = _planted_fixture()
    assert planted.height > 700 and set(planted.get_column("language")) == {"en", "zh"}
    data = pl.concat([originals, planted.select(originals.columns)])
    kept, dropped = near_dedup(data, ["question", "answer_text"], "seed_id")

    removed = set(dropped.get_column("id"))
    planted_ids = set(planted.get_column("seed_id"))
    for language in ("en", "zh"):
        ids = set(planted.filter(pl.col("language") == language).get_column("seed_id"))
        assert len(ids & removed) / len(ids) >= 0.95, language

    # distinct by an independent yardstick: exact word-set Jaccard < 0.5 with every other original
    texts = [f"{q} {a}" for q, a in originals.select("question", "answer_text").iter_rows()]
    closest = unigram_jaccard_max(texts, texts, exclude_self=True)
    held = set(originals.filter(pl.Series(closest < 0.5)).get_column("seed_id"))
    assert len(held) > 0.9 * originals.height
    assert not held & removed  # 0 false removals

    # every removed copy sits in its original's cluster (the original kept or in the same cluster)
    copies = dropped.join(planted.select(pl.col("seed_id").alias("id"), "copy_of"), on="id")
    cluster_of = dict(zip(dropped.get_column("id"), dropped.get_column("cluster_id"), strict=True))
    representative_cluster = dict(zip(dropped.get_column("representative_id"), dropped.get_column("cluster_id"),
                                      strict=False))
    for copy_of, cluster in zip(copies.get_column("copy_of"), copies.get_column("cluster_id"), strict=True):
        assert cluster_of.get(copy_of, representative_cluster.get(copy_of)) == cluster
    assert kept.height + dropped.height == data.height
    assert removed <= planted_ids | (set(originals.get_column("seed_id")) - held)


def test_a_real_near_duplicate_pair_in_cmmlu_is_found():
    # CMMLU dev itself holds a typo variant: "不同的选法共有" / "不同的选发有"
    kept, dropped = near_dedup(cmmlu_dev(), ["question", "answer_text"], "seed_id")
    questions = dict(zip(cmmlu_dev().get_column("seed_id"), cmmlu_dev().get_column("question"), strict=True))
    pairs = {(questions[r], questions[d]) for d, r in dropped.select("id", "representative_id").iter_rows()}
    assert any("选法共有" in a + b and "选发有" in a + b for a, b in pairs)
    assert dropped.height <= 3  # and little else: CMMLU questions are otherwise distinct


def test_pair_jaccard_is_exact_on_the_release_shingles():
    from linksyn_dagster.core.neardup import pair_jaccard, units_expr

    frame = pl.DataFrame({"a": ["a b c d", "", "x y", "same text here"], "b": ["a b c d", "a", "y z", "same text here"]})
    units = frame.select(units_expr("a"), units_expr("b"))
    # x y / y z: shingles {x, y, x_y} and {y, z, y_z} share y: 1 / 5
    assert pair_jaccard(units.get_column("a"), units.get_column("b")).tolist() == [1.0, 0.0, 0.2, 1.0]
    # real questions against light edits and against other questions (repeated words included),
    # checked with Python sets
    questions = [*mmlu_val().get_column("question").head(50), *cmmlu_dev().get_column("question").head(30)]
    rng = random.Random(11)
    vocab = vocabulary(questions)
    others = [paraphrase_edit(q, rng, vocab, 0.2) if k % 2 else questions[(k * 7 + 3) % len(questions)]
              for k, q in enumerate(questions)]
    for ngram_range in ((1, 2), (2, 4)):
        units = pl.DataFrame({"a": questions, "b": others}).select(units_expr("a"), units_expr("b"))
        got = pair_jaccard(units.get_column("a"), units.get_column("b"), ngram_range)
        for k, (q, o) in enumerate(zip(questions, others, strict=True)):
            a, b = _python_shingles(text_units(q), *ngram_range), _python_shingles(text_units(o), *ngram_range)
            assert got[k] == pytest.approx(len(a & b) / len(a | b)), (q, o)
    with pytest.raises(ValueError, match="rows"):
        pair_jaccard(units.get_column("a"), units.get_column("b").head(2))


def test_source_copies_compares_an_item_with_its_own_seeds_only():
    from linksyn_dagster.core.neardup import source_copies

    seeds = pl.DataFrame({"seed_id": ["s1", "s2", "s3"], "text": [
        "What is the speed of light in a vacuum? 3e8 m/s",
        "Which court hears appeals from the state supreme courts? the federal supreme court",
        "What is the speed of light in a vacuum? 3e8 m/s"]})
    items = pl.DataFrame({
        "qa_id": ["copy", "new", "copy_of_other_seed", "no_seeds"],
        "source_seed_ids": [["s2", "s1"], ["s1"], ["s2"], []],
        "text": ["What is the speed of light in vacuum? 3e8 m/s",
                 "A pulse of light crosses a 3 m lab: how many nanoseconds does it take? 10",
                 "What is the speed of light in a vacuum? 3e8 m/s",  # s3's text, but s3 is not its seed
                 "anything"]})
    found = source_copies(items, seeds, threshold=0.7)
    assert found.get_column("qa_id").to_list() == ["copy"]
    assert found.get_column("seed_id").to_list() == ["s1"] and 0.7 <= found.get_column("similarity")[0] < 1.0


def test_source_copies_scored_a_slice_of_pairs_at_a_time_equal_all_at_once(monkeypatch):
    """source_copies scores its (item, seed) pairs in slices (memory): the result must not
    depend on where the slices fall."""
    from linksyn_dagster.core import neardup

    rng = random.Random(3)
    words = [f"w{i}" for i in range(40)]
    seeds = pl.DataFrame({"seed_id": [f"s{i}" for i in range(30)],
                          "text": [" ".join(rng.choices(words, k=12)) for _ in range(30)]})
    texts = seeds.get_column("text").to_list()
    items = pl.DataFrame({
        "qa_id": [f"q{i}" for i in range(60)],
        "source_seed_ids": [rng.sample([f"s{j}" for j in range(30)], 3) for _ in range(60)],
        # every other item near-copies its first seed (one word changed)
        "text": [" ".join(rng.choices(words, k=12)) for _ in range(60)]})
    items = items.with_columns(pl.Series("text", [
        (texts[int(ids[0][1:])].rsplit(" ", 1)[0] + " changed") if i % 2 == 0 else t
        for i, (ids, t) in enumerate(zip(items.get_column("source_seed_ids").to_list(),
                                         items.get_column("text").to_list()))]))
    whole = neardup.source_copies(items, seeds, threshold=0.6)
    monkeypatch.setattr(neardup, "PAIR_SLICE", 7)
    sliced = neardup.source_copies(items, seeds, threshold=0.6)
    assert whole.height >= 20 and sliced.equals(whole)
