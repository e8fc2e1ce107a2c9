"""apply_changes: a CSR graph brought to the next state by its changes equals the graph of
that state built whole (node order, neighbours, weights, frequencies, disciplines)."""

import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.csr_delta import GraphChanges, apply_changes
from linksyn_dagster.core.csr_graph import CSRGraph


def _graph(nodes: dict[str, tuple[float, str]], edges: dict[tuple[str, str], int]) -> CSRGraph:
    ids = sorted(nodes)
    pairs = sorted(edges)
    return CSRGraph.from_edges(ids, [nodes[i][0] for i in ids], [nodes[i][1] for i in ids],
                               ([a for a, _ in pairs], [b for _, b in pairs],
                                np.array([edges[p] for p in pairs], dtype=np.float32)))


def _same(got: CSRGraph, want: CSRGraph) -> None:
    assert got.node_ids.tolist() == want.node_ids.tolist()
    assert got.discipline_names == want.discipline_names
    for name in ("indptr", "indices", "weights", "frequency", "discipline"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
        assert getattr(got, name).dtype == getattr(want, name).dtype, name


def _changes(nodes=None, gone=(), edges=None, edges_gone=()) -> GraphChanges:
    rows = nodes or {}
    return GraphChanges(
        from_state="s1", to_state="s2",
        nodes=pl.DataFrame({"kp_id": list(rows), "frequency": [v[0] for v in rows.values()],
                            "primary_discipline": [v[1] for v in rows.values()]},
                           schema={"kp_id": pl.Utf8, "frequency": pl.Int64, "primary_discipline": pl.Utf8}),
        nodes_gone=pl.Series("kp_id", list(gone), dtype=pl.Utf8),
        edges=pl.DataFrame({"kp_a": [a for a, _ in (edges or {})], "kp_b": [b for _, b in (edges or {})],
                            "weight": list((edges or {}).values())},
                           schema={"kp_a": pl.Utf8, "kp_b": pl.Utf8, "weight": pl.Int64}),
        edges_gone=pl.DataFrame({"kp_a": [a for a, _ in edges_gone], "kp_b": [b for _, b in edges_gone]},
                                schema={"kp_a": pl.Utf8, "kp_b": pl.Utf8}))


BEFORE_NODES = {"kp_b": (3, "physics"), "kp_d": (2, "law"), "kp_f": (1, "physics"), "kp_h": (4, "arts")}
BEFORE_EDGES = {("kp_b", "kp_d"): 2, ("kp_b", "kp_f"): 1, ("kp_d", "kp_h"): 3, ("kp_f", "kp_h"): 1}


def test_new_changed_and_gone_nodes_and_edges_give_the_graph_of_the_new_state():
    before = _graph(BEFORE_NODES, BEFORE_EDGES)
    after_nodes = {"kp_a": (1, "history"),  # new, first in kp_id order, a new discipline
                   "kp_b": (4, "physics"), "kp_d": (2, "physics"),  # frequency changed; discipline changed
                   "kp_f": (1, "physics"), "kp_g": (2, "law")}  # kp_h gone: arts goes with it
    after_edges = {("kp_a", "kp_b"): 1, ("kp_b", "kp_d"): 5, ("kp_b", "kp_f"): 1, ("kp_d", "kp_g"): 2}
    changes = _changes(nodes={"kp_a": (1, "history"), "kp_b": (4, "physics"), "kp_d": (2, "physics"),
                              "kp_g": (2, "law")}, gone=["kp_h"],
                       edges={("kp_b", "kp_a"): 1, ("kp_b", "kp_d"): 5, ("kp_d", "kp_g"): 2},  # either orientation
                       edges_gone=[("kp_d", "kp_h"), ("kp_f", "kp_h")])
    _same(apply_changes(before, changes), _graph(after_nodes, after_edges))


def test_no_changes_give_the_same_graph_and_an_edge_to_an_unknown_kp_is_refused():
    before = _graph(BEFORE_NODES, BEFORE_EDGES)
    _same(apply_changes(before, _changes()), before)
    with pytest.raises(ValueError, match="'kp_b' - 'kp_zz' names a KP the graph lacks"):
        apply_changes(before, _changes(edges={("kp_b", "kp_zz"): 1}))
    with pytest.raises(ValueError, match="KP 'kp_new' has no discipline or frequency"):
        apply_changes(before, _changes(nodes={"kp_new": (1, None)}))


def test_edges_of_a_gone_node_go_with_it_even_when_not_listed():
    before = _graph(BEFORE_NODES, BEFORE_EDGES)
    after = apply_changes(before, _changes(gone=["kp_f"]))
    _same(after, _graph({k: v for k, v in BEFORE_NODES.items() if k != "kp_f"},
                        {p: w for p, w in BEFORE_EDGES.items() if "kp_f" not in p}))
