"""Planning graph loads: the delta between a saved state and new tables, and lock-free
rounds for parallel relationship writers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.graph_load import GraphTables, _round_robin, diff, lock_free_rounds, node_buckets, state_of


def _tables(kps: list[tuple], seeds: list[tuple], links: list[tuple], edges: list[tuple]) -> GraphTables:
    return GraphTables(
        kps=pl.DataFrame(kps, schema={"kp_id": pl.Utf8, "name": pl.Utf8, "frequency": pl.Int64,
                                      "disciplines": pl.List(pl.Utf8), "primary_discipline": pl.Utf8,
                                      "aliases": pl.List(pl.Utf8)}, orient="row"),
        seeds=pl.DataFrame(seeds, schema={"seed_id": pl.Utf8, "discipline": pl.Utf8, "subject": pl.Utf8,
                                          "language": pl.Utf8, "question": pl.Utf8}, orient="row"),
        links=pl.DataFrame(links, schema={"seed_id": pl.Utf8, "kp_id": pl.Utf8}, orient="row"),
        edges=pl.DataFrame(edges, schema={"kp_a": pl.Utf8, "kp_b": pl.Utf8, "weight": pl.Int64}, orient="row"),
    )


OLD = _tables(
    kps=[("kp_a", "Atoms", 2, ["chemistry"], "chemistry", ["Atoms"]),
         ("kp_b", "Bonds", 1, ["chemistry"], "chemistry", ["Bonds"]),
         ("kp_c", "Cells", 1, ["biology"], "biology", ["Cells"])],
    seeds=[("s1", "chemistry", "chem", "en", "q1"), ("s2", "biology", "bio", "en", "q2")],
    links=[("s1", "kp_a"), ("s1", "kp_b"), ("s2", "kp_a"), ("s2", "kp_c")],
    edges=[("kp_a", "kp_b", 1), ("kp_a", "kp_c", 1)],
)
NEW = _tables(
    kps=[("kp_a", "Atoms", 3, ["biology", "chemistry"], "chemistry", ["Atoms"]),  # changed
         ("kp_c", "Cells", 1, ["biology"], "biology", ["Cells"]),  # same
         ("kp_d", "DNA", 1, ["biology"], "biology", ["DNA"])],  # new; kp_b gone
    seeds=[("s2", "biology", "bio", "en", "q2 edited"), ("s3", "biology", "bio", "en", "q3")],  # s1 gone
    links=[("s2", "kp_a"), ("s2", "kp_c"), ("s3", "kp_a"), ("s3", "kp_d")],
    edges=[("kp_a", "kp_c", 1), ("kp_a", "kp_d", 1)],
)


def test_against_no_state_everything_is_created() -> None:
    delta = diff(None, OLD)
    assert delta.kps_new.equals(OLD.kps) and delta.seeds_new.equals(OLD.seeds)
    assert delta.links_new.equals(OLD.links) and delta.edges_new.equals(OLD.edges)
    counts = delta.counts()
    assert {k for k, v in counts.items() if v} == {"kps_new", "seeds_new", "links_new", "edges_new", "kp_disciplines"}
    assert sorted(delta.kp_disciplines.rows()) == [("kp_a", "chemistry"), ("kp_b", "chemistry"), ("kp_c", "biology")]


def test_delta_holds_exactly_the_changes() -> None:
    delta = diff(state_of(OLD), NEW)
    assert delta.kps_new.get_column("kp_id").to_list() == ["kp_d"]
    assert delta.kps_changed.get_column("kp_id").to_list() == ["kp_a"]
    assert delta.kps_changed.row(0, named=True)["frequency"] == 3  # the new properties
    assert delta.kps_gone.get_column("kp_id").to_list() == ["kp_b"]
    assert sorted(delta.kp_disciplines.rows()) == [("kp_a", "biology"), ("kp_d", "biology")]  # kp_a kept chemistry
    assert delta.kp_disciplines_gone.is_empty()
    assert delta.seeds_new.get_column("seed_id").to_list() == ["s3"]
    assert delta.seeds_changed.get_column("seed_id").to_list() == ["s2"]
    assert delta.seeds_gone.get_column("seed_id").to_list() == ["s1"]
    assert sorted(delta.links_new.rows()) == [("s3", "kp_a"), ("s3", "kp_d")]
    assert sorted(delta.links_gone.rows()) == [("s1", "kp_a"), ("s1", "kp_b")]
    assert delta.edges_new.rows() == [("kp_a", "kp_d", 1)]
    assert delta.edges_changed.is_empty()
    assert delta.edges_gone.rows() == [("kp_a", "kp_b")]


def test_a_changed_weight_is_an_update_and_no_change_is_an_empty_delta() -> None:
    heavier = GraphTables(kps=OLD.kps, seeds=OLD.seeds, links=OLD.links,
                          edges=OLD.edges.with_columns(weight=pl.when(pl.col("kp_b") == "kp_c").then(5)
                                                       .otherwise(pl.col("weight"))))
    delta = diff(state_of(OLD), heavier)
    assert delta.edges_changed.rows() == [("kp_a", "kp_c", 5)]
    assert delta.edges_new.is_empty() and delta.edges_gone.is_empty()
    assert diff(state_of(OLD), OLD).empty
    # row order is not content
    shuffled = GraphTables(kps=OLD.kps.reverse(), seeds=OLD.seeds.reverse(), links=OLD.links.reverse(),
                           edges=OLD.edges.reverse())
    assert diff(state_of(OLD), shuffled).empty


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"GraphTables.edges: missing columns \['weight'\]"):
        GraphTables(kps=OLD.kps, seeds=OLD.seeds, links=OLD.links, edges=OLD.edges.drop("weight"))


@pytest.mark.parametrize("writers", [1, 2, 3, 4])
@pytest.mark.parametrize("same_nodes", [True, False])
def test_rounds_cover_every_relationship_once_and_never_share_a_node(writers: int, same_nodes: bool) -> None:
    rng = np.random.default_rng(writers)
    n = 5000
    # a hub-heavy graph: a few nodes are ends of most relationships
    start = pl.Series((rng.zipf(1.5, n) % 300).astype(str))
    end = pl.Series((rng.integers(0, 300, n) if same_nodes else rng.zipf(1.5, n) % 50).astype(str))
    end = end if same_nodes else "d" + end  # a different node set
    buckets = 2 * writers if same_nodes else writers
    rounds = lock_free_rounds(node_buckets(start, buckets), node_buckets(end, buckets), writers, same_nodes)
    seen = np.concatenate([g for groups in rounds for g in groups])
    assert np.array_equal(np.sort(seen), np.arange(n))
    for groups in rounds:
        assert 1 <= len(groups) <= writers
        node_sets = [set(start.gather(g).to_list()) | set(end.gather(g).to_list()) for g in groups]
        for i in range(len(node_sets)):
            for j in range(i + 1, len(node_sets)):
                assert not node_sets[i] & node_sets[j]
    if writers > 1:  # the writers really run side by side in most rounds
        assert max(len(groups) for groups in rounds) == writers


def test_round_robin_pairs_every_bucket_once() -> None:
    for buckets in (2, 4, 6, 8):
        rounds = _round_robin(buckets)
        pairs = [p for r in rounds for p in r]
        assert sorted(pairs) == [(i, j) for i in range(buckets) for j in range(i + 1, buckets)]
        assert all(len({b for p in r for b in p}) == buckets for r in rounds)


def test_bad_rounds_input_is_refused() -> None:
    with pytest.raises(ValueError, match="writers must be >= 1"):
        lock_free_rounds(np.zeros(3), np.zeros(3), 0, True)
    with pytest.raises(ValueError, match=r"buckets must lie in \[0, 4\)"):
        lock_free_rounds(np.array([0, 9]), np.array([1, 1]), 2, True)
    assert lock_free_rounds(np.array([]), np.array([]), 2, True) == []


def test_a_kp_moving_discipline_swaps_only_that_link() -> None:
    moved = GraphTables(kps=OLD.kps.with_columns(
        disciplines=pl.when(pl.col("kp_id") == "kp_b").then(pl.lit(["physics"])).otherwise(pl.col("disciplines"))),
        seeds=OLD.seeds, links=OLD.links, edges=OLD.edges)
    delta = diff(state_of(OLD), moved)
    assert delta.kps_changed.get_column("kp_id").to_list() == ["kp_b"]
    assert delta.kp_disciplines.rows() == [("kp_b", "physics")]
    assert delta.kp_disciplines_gone.rows() == [("kp_b", "chemistry")]


def test_a_frequency_only_change_is_a_frequency_update() -> None:
    busier = GraphTables(kps=OLD.kps.with_columns(frequency=pl.col("frequency") + (pl.col("kp_id") == "kp_c")),
                         seeds=OLD.seeds, links=OLD.links, edges=OLD.edges)
    delta = diff(state_of(OLD), busier)
    assert delta.kp_frequencies.rows() == [("kp_c", 2)]
    assert delta.kps_changed.is_empty() and delta.kp_disciplines.is_empty()


def test_colliding_key_hashes_fall_back_to_the_exact_join() -> None:
    """A collision of the first key hash must not lose or invent a change."""
    from linksyn_dagster.core.graph_load import _EDGE_KEYS, _keyed_diff

    old, new = state_of(OLD).edges, state_of(NEW).edges
    expected = _keyed_diff(NEW.edges, new, old, _EDGE_KEYS, "weight")
    for ours, theirs in ((new.with_columns(_h=pl.lit(1, pl.UInt64)), old.with_columns(_h=pl.lit(1, pl.UInt64))),
                         (new.with_columns(_g=pl.col("_g") + 1), old)):  # first hash equal, second not
        got = _keyed_diff(NEW.edges, ours, theirs, _EDGE_KEYS, "weight")
        assert [sorted(g.rows()) for g in got] == [sorted(e.rows()) for e in expected]
    assert [g.rows() for g in expected] == [[("kp_a", "kp_d", 1)], [], [("kp_a", "kp_b")]]
