"""The graph version is a hash of what the graph holds, and of nothing else."""

from __future__ import annotations

import datetime as dt

import polars as pl

from linksyn_dagster.core.graph_load import graph_version


def _kps(name: str = "Krebs cycle", seen: dt.datetime = dt.datetime(2026, 1, 1)) -> pl.DataFrame:
    return pl.DataFrame({"kp_id": ["kp_1", "kp_2"], "name": [name, "ATP"], "key": ["krebs cycle", "atp"],
                         "frequency": [2, 1], "disciplines": [["biology"], ["biology"]],
                         "primary_discipline": ["biology", "biology"], "aliases": [[], []],
                         "first_seen": [seen, seen], "last_seen": [seen, seen]})


LINKS = pl.DataFrame({"seed_id": ["s1", "s1"], "kp_id": ["kp_1", "kp_2"]})
EDGES = pl.DataFrame({"kp_a": ["kp_1"], "kp_b": ["kp_2"], "weight": [1]})
SEEDS = pl.DataFrame({"seed_id": ["s1"], "discipline": ["biology"], "question": ["q"]})


def test_extraction_times_do_not_change_the_version_but_content_does():
    base = graph_version(_kps(), LINKS, EDGES, SEEDS)
    assert graph_version(_kps(seen=dt.datetime(2026, 11, 24)), LINKS, EDGES, SEEDS) == base
    assert graph_version(_kps().reverse(), LINKS, EDGES, SEEDS) == base  # row order is not content
    assert graph_version(_kps(name="Citric acid cycle"), LINKS, EDGES, SEEDS) != base
    assert graph_version(_kps(), LINKS, EDGES.with_columns(weight=pl.lit(2)), SEEDS) != base
