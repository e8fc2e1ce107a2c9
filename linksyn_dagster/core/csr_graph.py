"""The KP graph the walker reads, in CSR form (:class:`CSRGraph`), its builders (numba
counting sorts, no Python loop over edges) and its connected components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["CSRGraph", "connected_components"]


@njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True)
def _components(indptr, indices):
    """Union-find over the edges; the smaller root wins, so a root is its component's
    smallest node."""
    n = indptr.size - 1
    parent = np.arange(n, dtype=np.int64)
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            j = np.int64(indices[e])
            if j <= i:
                continue
            a = _find(parent, i)
            b = _find(parent, j)
            if a < b:
                parent[b] = a
            elif b < a:
                parent[a] = b
    for i in range(n):
        parent[i] = _find(parent, i)
    return parent


@njit(cache=True)
def _csr_from_pairs(n, src, dst, w):
    """Symmetric CSR (neighbours sorted) from undirected pairs given once, by two stable
    counting sorts (by neighbour, then by node); about 20 bytes per pair besides the
    result. Returns (indptr, indices, weights, i, j) with i = j = -1, or a node pair given
    more than once."""
    m = src.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        indptr[src[e] + 1] += 1
        indptr[dst[e] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    # pass 1: directed entries ordered by their head (the neighbour)
    pos = indptr[:-1].copy()
    by_head_tail = np.empty(2 * m, dtype=np.int32)
    by_head_w = np.empty(2 * m, dtype=np.float32)
    for e in range(m):
        a, b = src[e], dst[e]
        slot = pos[b]
        pos[b] += 1
        by_head_tail[slot] = a
        by_head_w[slot] = w[e]
        slot = pos[a]
        pos[a] += 1
        by_head_tail[slot] = b
        by_head_w[slot] = w[e]
    # pass 2: stable by tail, so each node's neighbours come out sorted
    pos[:] = indptr[:-1]
    indices = np.empty(2 * m, dtype=np.int32)
    weights = np.empty(2 * m, dtype=np.float32)
    for b in range(n):
        for slot in range(indptr[b], indptr[b + 1]):
            a = by_head_tail[slot]
            to = pos[a]
            pos[a] += 1
            indices[to] = b
            weights[to] = by_head_w[slot]
    for i in range(n):
        for e in range(indptr[i] + 1, indptr[i + 1]):
            if indices[e] == indices[e - 1]:
                return indptr, indices, weights, np.int64(i), np.int64(indices[e])
    return indptr, indices, weights, np.int64(-1), np.int64(-1)


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """Undirected KP graph in CSR form: the neighbours of node ``i`` are
    ``indices[indptr[i]:indptr[i+1]]`` (sorted), with co-occurrence ``weights`` alongside.
    Every undirected edge is stored in both directions."""

    node_ids: np.ndarray  # object array of str, position = node index
    indptr: np.ndarray  # int64, n + 1
    indices: np.ndarray  # int32, 2 · edges
    weights: np.ndarray  # float32, 2 · edges
    frequency: np.ndarray  # float64, n (distinct seeds per KP)
    discipline: np.ndarray  # int32, n: index into discipline_names
    discipline_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.node_ids)
        if self.indptr.shape != (n + 1,) or self.indptr[0] != 0 or self.indptr[-1] != len(self.indices):
            raise ValueError("CSRGraph: indptr does not match node_ids/indices")
        if self.weights.shape != self.indices.shape:
            raise ValueError("CSRGraph: weights and indices differ in length")
        if self.frequency.shape != (n,) or self.discipline.shape != (n,):
            raise ValueError("CSRGraph: frequency/discipline must have one entry per node")
        if n and (self.discipline.min() < 0 or self.discipline.max() >= len(self.discipline_names)):
            raise ValueError("CSRGraph: discipline code out of range")

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Undirected edges."""
        return len(self.indices) // 2

    @property
    def nbytes(self) -> int:
        """Bytes of the numeric arrays (node ids not counted)."""
        return sum(a.nbytes for a in (self.indptr, self.indices, self.weights, self.frequency, self.discipline))

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def neighbors(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[node], self.indptr[node + 1]
        return self.indices[lo:hi], self.weights[lo:hi]

    def discipline_of(self, node: int) -> str:
        return self.discipline_names[int(self.discipline[node])]

    def ids_of(self, path: np.ndarray) -> list[str]:
        return [str(x) for x in self.node_ids[path]]

    @classmethod
    def from_index_edges(
        cls,
        node_ids: np.ndarray | Sequence[str],
        frequency: np.ndarray,
        discipline: np.ndarray,
        discipline_names: Sequence[str],
        src: np.ndarray,
        dst: np.ndarray,
        weights: np.ndarray,
    ) -> CSRGraph:
        """Build from node arrays and an undirected edge list of node indices, each edge given
        once in either orientation: O(nodes + edges), no Python loop over edges. Raises
        ValueError on out-of-range, self or repeated edges and non-positive weights."""
        ids = node_ids if isinstance(node_ids, np.ndarray) and node_ids.dtype == object else np.asarray(
            list(node_ids), dtype=object)
        n = len(ids)
        freq = np.asarray(frequency, dtype=np.float64)
        if freq.shape != (n,):
            raise ValueError(f"CSRGraph: {len(freq)} frequencies for {n} nodes")
        if not np.all(np.isfinite(freq)) or np.any(freq < 0):
            raise ValueError("CSRGraph: frequencies must be finite and >= 0")
        # int32/int64 and float32/float64 columns are used as they are (no copies of large inputs)
        a, b = (np.asarray(x).reshape(-1) for x in (src, dst))
        a, b = (x if x.dtype in (np.int32, np.int64) else x.astype(np.int64) for x in (a, b))
        w = np.asarray(weights).reshape(-1)
        w = w if w.dtype in (np.float32, np.float64) else w.astype(np.float64)
        if not (len(a) == len(b) == len(w)):
            raise ValueError("CSRGraph: edge columns differ in length")
        if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
            raise ValueError("CSRGraph: edge endpoint out of range")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("CSRGraph: edge weights must be finite and > 0")
        loops = np.flatnonzero(a == b)
        if loops.size:
            raise ValueError(f"CSRGraph: self edge on node {ids[a[loops[0]]]!r}")
        indptr, indices, both_w, i, j = _csr_from_pairs(n, a, b, w)
        if i >= 0:
            i, j = sorted((int(i), int(j)))
            raise ValueError(f"CSRGraph: edge {ids[i]!r} - {ids[j]!r} given more than once")
        return cls(
            node_ids=ids,
            indptr=indptr,
            indices=indices,
            weights=both_w,
            frequency=freq,
            discipline=np.asarray(discipline, dtype=np.int32),
            discipline_names=tuple(discipline_names),
        )

    @classmethod
    def from_edges(
        cls,
        node_ids: Sequence[str],
        frequency: Sequence[float] | np.ndarray,
        node_discipline_names: Sequence[str],
        edges: tuple[Sequence[str], Sequence[str], Sequence[float] | np.ndarray],
    ) -> CSRGraph:
        """Build from node attributes and an undirected edge list ``(a_ids, b_ids, weights)``,
        each edge given once in either orientation. Raises ValueError on duplicate node ids,
        edges to unknown nodes (named), repeated or self edges, and non-positive weights."""
        ids = np.asarray(list(node_ids), dtype=object)
        n = len(ids)
        index: dict[str, int] = {}
        for i, node in enumerate(ids.tolist()):
            if index.setdefault(node, i) != i:
                raise ValueError(f"CSRGraph: duplicate node id {node!r}")
        disc_list = list(node_discipline_names)
        if len(disc_list) != n:
            raise ValueError(f"CSRGraph: {len(disc_list)} disciplines for {n} nodes")
        for node, d in zip(ids.tolist(), disc_list, strict=True):
            if not isinstance(d, str) or not d:
                raise ValueError(f"CSRGraph: node {node!r} has no discipline ({d!r})")
        names = tuple(sorted(set(disc_list)))
        code = {d: k for k, d in enumerate(names)}
        discipline = np.fromiter((code[d] for d in disc_list), dtype=np.int32, count=n)

        a_ids, b_ids, raw_w = edges
        a_list, b_list = list(a_ids), list(b_ids)
        if not (len(a_list) == len(b_list) == len(np.asarray(raw_w).reshape(-1))):
            raise ValueError("CSRGraph: edge columns differ in length")
        unknown = sorted({x for x in (*a_list, *b_list) if x not in index})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValueError(f"CSRGraph: edges reference unknown node(s) {shown}{more}")
        a = np.fromiter((index[x] for x in a_list), dtype=np.int64, count=len(a_list))
        b = np.fromiter((index[x] for x in b_list), dtype=np.int64, count=len(b_list))
        return cls.from_index_edges(ids, np.asarray(frequency, dtype=np.float64), discipline, names, a, b,
                                    np.asarray(raw_w, dtype=np.float64))


def connected_components(graph: CSRGraph) -> np.ndarray:
    """Component label per node: the smallest node index in its component (union-find)."""
    return _components(graph.indptr, graph.indices)
