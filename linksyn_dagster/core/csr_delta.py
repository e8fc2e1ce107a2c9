"""A cached CSR graph brought to the next knowledge state by the changes that took Neo4j there.

``kp_graph`` loads an increment into Neo4j from the rows of ``kp_changes`` (KPs new, changed or
gone, and the co-occurrence edges new, re-weighted or gone). The walk plan needs the same graph
as CSR arrays; streaming all of it from Neo4j again costs as much as the first time (41 s of
a 1M-seed increment's 73 s in ``walk_plan``). :func:`apply_changes` makes it from the CSR of
the state before and those changes instead: the same arrays a read from Neo4j gives (nodes in
``kp_id`` order, each node's neighbours sorted, weights as float32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from linksyn_dagster.core.csr_graph import CSRGraph

__all__ = ["GraphChanges", "apply_changes"]


@dataclass(frozen=True)
class GraphChanges:
    """What changed between two knowledge states, as the walk graph sees it."""

    from_state: str
    to_state: str
    nodes: pl.DataFrame  # kp_id, frequency, primary_discipline: KPs new, or whose values may have changed
    nodes_gone: pl.Series  # kp_id
    edges: pl.DataFrame  # kp_a < kp_b, weight: edges new or re-weighted
    edges_gone: pl.DataFrame  # kp_a, kp_b


def apply_changes(csr: CSRGraph, changes: GraphChanges) -> CSRGraph:
    """``csr`` (the graph of ``changes.from_state``) with ``changes`` applied. Raises
    ValueError where the changes do not fit the graph (an edge to a node it lacks)."""
    old_ids = pl.Series("kp_id", csr.node_ids.tolist(), dtype=pl.Utf8)
    old = pl.DataFrame({"kp_id": old_ids, "frequency": csr.frequency,
                        "primary_discipline": pl.Series(csr.discipline_names, dtype=pl.Utf8)
                        .gather(pl.Series(csr.discipline))}).with_row_index("old")
    nodes = (pl.concat([old.join(pl.concat([changes.nodes.select("kp_id"), changes.nodes_gone.to_frame("kp_id")]),
                                 on="kp_id", how="anti").drop("old"),
                        changes.nodes.select("kp_id", pl.col("frequency").cast(pl.Float64), "primary_discipline")
                        .filter(~pl.col("kp_id").is_in(changes.nodes_gone.implode()))])
             .sort("kp_id").with_row_index("new"))
    # old node index -> new (or -1 for a node gone)
    old_to_new = np.full(csr.n_nodes, -1, dtype=np.int64)
    moved = old.select("old", "kp_id").join(nodes.select("kp_id", "new"), on="kp_id")
    old_to_new[moved.get_column("old").to_numpy()] = moved.get_column("new").to_numpy()

    # every undirected edge once (the lower endpoint first), in the new numbering
    src = np.repeat(np.arange(csr.n_nodes, dtype=np.int64), np.diff(csr.indptr))
    upper = src < csr.indices
    a, b = old_to_new[src[upper]], old_to_new[csr.indices[upper]]
    alive = (a >= 0) & (b >= 0)
    edges = pl.DataFrame({"a": a[alive], "b": b[alive], "weight": csr.weights[upper][alive]})
    index = nodes.select(pl.col("kp_id"), pl.col("new").cast(pl.Int64))

    def numbered(frame: pl.DataFrame, strict: bool = True) -> pl.DataFrame:
        """The edges in node numbers (lower first); those naming a KP the graph lacks raise,
        or when not ``strict`` (edges gone: their KP may be gone too) are left out."""
        out = (frame.join(index.rename({"kp_id": "kp_a", "new": "a"}), on="kp_a", how="left")
               .join(index.rename({"kp_id": "kp_b", "new": "b"}), on="kp_b", how="left"))
        unknown = out.filter(pl.col("a").is_null() | pl.col("b").is_null())
        if not strict:
            out = out.drop_nulls(["a", "b"])
        elif unknown.height:
            row = unknown.row(0, named=True)
            raise ValueError(f"graph changes: edge {row['kp_a']!r} - {row['kp_b']!r} names a KP the graph lacks")
        return out.with_columns(pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b"))

    changed = numbered(changes.edges).select("a", "b", pl.col("weight").cast(pl.Float32))
    touched = pl.concat([changed.select("a", "b"), numbered(changes.edges_gone, strict=False).select("a", "b")])
    edges = pl.concat([edges.join(touched, on=["a", "b"], how="anti"), changed])
    missing = nodes.filter(pl.col("primary_discipline").is_null() | pl.col("frequency").is_null())
    if missing.height:  # as a read from Neo4j refuses them
        raise ValueError(f"graph changes: KP {missing.item(0, 'kp_id')!r} has no discipline or frequency")
    names = tuple(sorted(set(nodes.get_column("primary_discipline").to_list())))
    code = pl.DataFrame({"primary_discipline": names, "code": range(len(names))},
                        schema={"primary_discipline": pl.Utf8, "code": pl.Int32})
    return CSRGraph.from_index_edges(
        np.asarray(nodes.get_column("kp_id").to_list(), dtype=object), nodes.get_column("frequency").to_numpy(),
        nodes.join(code, on="primary_discipline", how="left").sort("new").get_column("code").to_numpy(), names,
        edges.get_column("a").to_numpy(), edges.get_column("b").to_numpy(), edges.get_column("weight").to_numpy())
