"""KP canonicalization: keys, aliases, near-duplicate merging and the table entry point."""

from __future__ import annotations

import datetime as dt
import random
import re

import polars as pl
import pytest

from linksyn_dagster.core.canonical import (
    build_alias_map,
    canonical_key,
    canonicalize_kps,
    kp_id_for,
    near_duplicate_groups,
    resolve_alias,
    singularize,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        # regular plurals
        ("Equations", "equation"),
        ("theories", "theory"),
        ("Processes", "process"),
        ("analyses", "analysis"),
        ("hypotheses", "hypothesis"),
        ("boxes", "box"),
        ("branches", "branch"),
        ("potatoes", "potato"),
        ("phases", "phase"),
        ("gases", "gas"),
        ("viruses", "virus"),
        ("calories", "calorie"),
        ("niches", "niche"),
        ("matrices", "matrix"),
        ("bacteria", "bacterium"),
        ("leaves", "leaf"),
        ("children", "child"),
        ("Newton's laws of motion", "newton law of motion"),
        # not plurals
        ("physics", "physics"),
        ("Mathematics", "mathematics"),
        ("economics", "economics"),
        ("class", "class"),
        ("gas", "gas"),
        ("series", "series"),
        ("species", "species"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("various", "various"),
        ("bias", "bias"),
        ("lens", "lens"),
        ("news", "news"),
        ("AIDS", "aids"),
        # articles
        ("The Ionic Bonds", "ionic bond"),
        ("an Enzyme", "enzyme"),
        ("a cell", "cell"),
        ("the", "the"),
        ("A priori", "a priori"),
        ("theory of the firm", "theory of the firm"),
        # punctuation, quotes, brackets, whitespace
        ("  Newton’s   Second\tLaw ", "newton second law"),
        ('"Photosynthesis"', "photosynthesis"),
        ("(acid-base) titration", "acid base titration"),
        ("acids & bases", "acid and base"),
        ("Bayes' theorem", "bayes theorem"),
        ("pH 7.4", "ph 7.4"),
        ("C#", "c#"),
        ("!!!", ""),
        ("", ""),
        # full-width and CJK
        ("ＤＮＡ　Ｒｅｐｌｉｃａｔｉｏｎ", "dna replication"),
        ("牛顿第二定律", "牛顿第二定律"),
        ("  牛顿 第二 定律 ", "牛顿第二定律"),
        ("（光合作用）", "光合作用"),
        ("「细胞」、分裂。", "细胞分裂"),
        ("Ｈ２Ｏ", "h2o"),
    ],
)
def test_canonical_key(name: str, key: str) -> None:
    assert canonical_key(name) == key


@pytest.mark.parametrize(
    ("word", "expected"),
    [("ions", "ion"), ("ties", "tie"), ("axes", "axis"), ("quizzes", "quiz"), ("is", "is"), ("3des", "3des")],
)
def test_singularize(word: str, expected: str) -> None:
    assert singularize(word) == expected


def test_canonical_key_is_idempotent() -> None:
    for name in ["The Ionic Bonds", "analyses of variance", "ＤＮＡ", "Newton's laws", "细胞 分裂"]:
        key = canonical_key(name)
        assert canonical_key(key) == key


def test_kp_id_is_stable_and_short() -> None:
    kp_id = kp_id_for("ionic bond")
    assert re.fullmatch(r"kp_[0-9a-f]{16}", kp_id)
    # pinned: ids are persisted (DuckDB, Neo4j), so the hash must never change
    assert kp_id == "kp_8635e485605ae78d"
    assert kp_id_for("ionic bond") == kp_id
    assert kp_id_for("ionic bonds") != kp_id


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("DNA", "deoxyribonucleic acid"),
        ("gdp", "Gross Domestic Product"),
        ("Newton's second law", "newtons second law of motion"),
        ("F=ma", "Newton's second law of motion"),
        ("WW2", "World War II"),
        ("HCF", "greatest common divisor"),
    ],
)
def test_default_aliases(alias: str, target: str) -> None:
    assert resolve_alias(canonical_key(alias)) == canonical_key(target)


def test_alias_map_resolves_chains_and_rejects_cycles() -> None:
    table = build_alias_map({"p q r": "q r s", "Q R S": "r s t"})
    assert table == {"p q r": "r s t", "q r s": "r s t"}
    with pytest.raises(ValueError, match="cycle"):
        build_alias_map({"x y": "y z", "y z": "x y"})
    with pytest.raises(ValueError, match="empty"):
        build_alias_map({"???": "x"})


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("conservation of energy", "energy conservation"),  # token set (function words dropped)
        ("acid and base", "base acid"),
        ("x ray", "xray"),  # compact
        ("type 2 diabetes", "type2 diabetes"),
        ("ionisation energy", "ionization energy"),  # single edit inside a long token
        ("electronegativity", "electronegitivity"),
        ("modelling", "modeling"),
        ("haemoglobin", "hemoglobin"),
        ("statistic", "statistics"),
    ],
)
def test_near_duplicates_merge(a: str, b: str) -> None:
    groups = near_duplicate_groups([a, b])
    assert groups[a] == groups[b]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("acid", "acid rain"),
        ("ethanol", "methanol"),  # token too short for an edit
        ("neuron", "neutron"),
        ("cyclohexane", "cyclohexene"),  # substitution in the suffix zone
        ("phosphite", "phosphate"),
        ("nucleotide", "nucleoside"),
        ("asymmetric", "symmetric"),  # first-character edit
        ("absorption", "adsorption"),  # known real-word pair
        ("type 1 diabetes", "type 2 diabetes"),  # digits never edited
        ("world war i", "world war ii"),
        ("hypertension", "hypotension"),  # two edits
        ("cell wall", "wall"),  # token set needs >= 2 content tokens on both sides
    ],
)
def test_near_duplicates_do_not_merge(a: str, b: str) -> None:
    groups = near_duplicate_groups([a, b])
    assert groups[a] != groups[b]


def test_single_edit_merge_needs_a_shared_discipline() -> None:
    keys = ["convection current", "convention current"]
    assert len(set(near_duplicate_groups(keys).values())) == 1
    separate = near_duplicate_groups(keys, [["physics"], ["law"]])
    assert separate["convection current"] != separate["convention current"]
    shared = near_duplicate_groups(keys, [["physics"], ["physics", "law"]])
    assert shared["convection current"] == shared["convention current"]


def test_near_duplicate_representative_is_shortest_then_smallest() -> None:
    groups = near_duplicate_groups(["law of conservation of mass", "mass conservation law", "conservation law mass"])
    assert set(groups.values()) == {"conservation law mass"}


def test_near_duplicates_scale_without_all_pairs() -> None:
    # 20k unrelated long keys: blocking keeps this quick; the merges found are only the
    # planted typo pairs
    rng = random.Random(7)
    letters = "bcdfghjklmnpqrstvwxz"
    def word(length: int) -> str:
        return "".join(rng.choice(letters) for _ in range(length))

    keys = [word(12) + " " + word(9) for _ in range(20000)]
    planted = []
    for k in keys[:50]:
        head, tail = k.split(" ")
        planted.append(head[:5] + "a" + head[6:] + " " + tail)  # substitution at offset 5
    groups = near_duplicate_groups(keys + planted)
    merged = {k for k, rep in groups.items() if rep != k} | {rep for k, rep in groups.items() if rep != k}
    assert set(keys[:50]) | set(planted) == merged


def _rows() -> pl.DataFrame:
    t = [dt.datetime(2026, 1, d, tzinfo=dt.UTC) for d in range(1, 11)]
    return pl.DataFrame(
        {
            "seed_id": ["s1", "s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4", "s5"],
            "seed_discipline": ["chemistry"] * 5 + ["physics", "physics", "biology", "biology", "chemistry"],
            "kp_name": [
                "Ionic bond", "ionic bonds", "Acid", "Ionic Bonds", "acids rain",
                "ionic bond", "DNA", "deoxyribonucleic acid", "DNA", "  ",
            ],
            "kp_discipline": ["chemistry", "chemistry", "chemistry", None, "chemistry", "physics", "biology", "biology", "biology", "x"],
            "extracted_at": t,
        }
    )


def test_canonicalize_kps_frequency_counts_distinct_seeds() -> None:
    kps, links = canonicalize_kps(_rows())
    by_key = {row["key"]: row for row in kps.iter_rows(named=True)}
    assert set(by_key) == {"ionic bond", "acid", "acid rain", "deoxyribonucleic acid"}

    bond = by_key["ionic bond"]
    assert bond["kp_id"] == kp_id_for("ionic bond")
    assert bond["frequency"] == 3  # s1 twice (two spellings), s2, s3
    assert bond["aliases"] == ["Ionic Bonds", "Ionic bond", "ionic bond", "ionic bonds"]
    assert bond["name"] == "Ionic bond"  # 1 seed each: tie -> shorter -> lexicographic
    assert bond["disciplines"] == ["chemistry", "physics"]
    assert bond["primary_discipline"] == "chemistry"  # s1, s2 (fallback to seed) vs s3
    assert bond["first_seen"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert bond["last_seen"] == dt.datetime(2026, 1, 6, tzinfo=dt.UTC)

    dna = by_key["deoxyribonucleic acid"]
    assert dna["frequency"] == 2
    assert dna["name"] == "DNA"  # 2 seeds vs 1
    assert dna["disciplines"] == ["biology", "physics"]
    assert dna["primary_discipline"] == "biology"

    # a blank name has no key and is not a KP; "acid" and "acid rain" stay apart
    assert by_key["acid"]["frequency"] == 1 and by_key["acid rain"]["frequency"] == 1
    assert links.columns == ["seed_id", "kp_id"]
    assert links.height == links.unique().height == 7
    assert links.filter(pl.col("seed_id") == "s1").height == 2
    assert kps.get_column("kp_id").to_list() == sorted(kps.get_column("kp_id").to_list())


def test_canonicalize_kps_is_deterministic_and_order_free() -> None:
    rows = _rows()
    first = canonicalize_kps(rows)
    shuffled = canonicalize_kps(rows.sample(fraction=1.0, shuffle=True, seed=3))
    assert first[0].equals(shuffled[0])
    assert first[1].equals(shuffled[1])


def test_canonicalize_kps_schema_without_timestamps() -> None:
    kps, links = canonicalize_kps(_rows().drop("extracted_at"))
    assert kps.schema == pl.Schema(
        {
            "kp_id": pl.String,
            "name": pl.String,
            "key": pl.String,
            "frequency": pl.Int64,
            "disciplines": pl.List(pl.String),
            "primary_discipline": pl.String,
            "aliases": pl.List(pl.String),
            "first_seen": pl.Datetime("us", "UTC"),
            "last_seen": pl.Datetime("us", "UTC"),
        }
    )
    assert kps.get_column("first_seen").null_count() == kps.height
    assert links.schema == pl.Schema({"seed_id": pl.String, "kp_id": pl.String})


def test_canonicalize_kps_extra_aliases_and_near_duplicates() -> None:
    rows = pl.DataFrame(
        {
            "seed_id": ["a", "b", "c", "d"],
            "seed_discipline": ["economics"] * 4,
            "kp_name": ["Law of demand", "demand law", "QE", "quantitative easing"],
            "kp_discipline": ["economics"] * 4,
        }
    )
    kps, links = canonicalize_kps(rows, aliases={"QE": "quantitative easing"})
    assert sorted(kps.get_column("frequency").to_list()) == [2, 2]
    assert links.get_column("kp_id").n_unique() == 2


def test_canonicalize_kps_requires_columns() -> None:
    with pytest.raises(ValueError, match="kp_discipline"):
        canonicalize_kps(pl.DataFrame({"seed_id": ["s"], "seed_discipline": ["x"], "kp_name": ["y"]}))


def test_canonicalize_kps_caller_alias_chains_into_default_table() -> None:
    rows = pl.DataFrame(
        {
            "seed_id": ["a", "b"],
            "seed_discipline": [None, " "],
            "kp_name": ["genetic material", "DNA"],
            "kp_discipline": [None, None],
        }
    )
    kps, _ = canonicalize_kps(rows, aliases={"genetic material": "DNA"})
    assert kps.rows(named=True)[0] | {"kp_id": None} == {
        "kp_id": None,
        "name": "DNA",
        "key": "deoxyribonucleic acid",
        "frequency": 2,
        "disciplines": [],
        "primary_discipline": None,
        "aliases": ["DNA", "genetic material"],
        "first_seen": None,
        "last_seen": None,
    }


def test_canonicalize_kps_empty_input() -> None:
    empty = pl.DataFrame(schema={c: pl.String for c in ("seed_id", "seed_discipline", "kp_name", "kp_discipline")})
    kps, links = canonicalize_kps(empty)
    assert kps.height == 0 and links.height == 0
    assert kps.columns[:3] == ["kp_id", "name", "key"]
