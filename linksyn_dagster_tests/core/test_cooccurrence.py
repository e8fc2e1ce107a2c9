"""Co-occurrence edges: weight = distinct seeds shared by two KPs."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import polars as pl
import pytest

from linksyn_dagster.core.cooccurrence import cooccurrence_edges


def _links(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"seed_id": pl.String, "kp_id": pl.String}, orient="row")


def test_hand_built_example() -> None:
    links = _links(
        [
            ("s1", "kp_a"), ("s1", "kp_b"), ("s1", "kp_c"),
            ("s2", "kp_b"), ("s2", "kp_a"),
            ("s3", "kp_c"), ("s3", "kp_d"),
            ("s4", "kp_d"),  # single-KP seed: no edge
            ("s5", "kp_a"), ("s5", "kp_b"), ("s5", "kp_b"),  # repeated link counts once
        ]
    )
    edges = cooccurrence_edges(links)
    assert edges.schema == pl.Schema({"kp_a": pl.String, "kp_b": pl.String, "weight": pl.Int64})
    assert edges.rows() == [
        ("kp_a", "kp_b", 3),
        ("kp_a", "kp_c", 1),
        ("kp_b", "kp_c", 1),
        ("kp_c", "kp_d", 1),
    ]


def test_empty_and_edgeless_inputs() -> None:
    assert cooccurrence_edges(_links([])).height == 0
    assert cooccurrence_edges(_links([("s1", "a"), ("s2", "b")])).height == 0


def test_missing_column() -> None:
    with pytest.raises(ValueError, match="kp_id"):
        cooccurrence_edges(pl.DataFrame({"seed_id": ["s"]}))


def test_matches_brute_force_on_random_links() -> None:
    rng = random.Random(11)
    kps = [f"kp_{i:03d}" for i in range(60)]
    pairs = [(f"s{s}", kp) for s in range(400) for kp in rng.sample(kps, rng.randint(1, 6))]
    expected: Counter[tuple[str, str]] = Counter()
    by_seed: dict[str, set[str]] = {}
    for seed, kp in pairs:
        by_seed.setdefault(seed, set()).add(kp)
    for members in by_seed.values():
        expected.update(itertools.combinations(sorted(members), 2))
    edges = cooccurrence_edges(_links(pairs))
    assert {(a, b): w for a, b, w in edges.rows()} == dict(expected)
    assert (edges.get_column("kp_a") < edges.get_column("kp_b")).all()
    assert edges.select("kp_a", "kp_b").rows() == sorted(edges.select("kp_a", "kp_b").rows())
