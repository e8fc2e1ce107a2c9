"""The value-function walker over the KP co-occurrence graph (numpy implementation).

A step from KP ``i`` to neighbour ``j`` has probability ∝ ``w_ij^β · V(j)`` with
``V(j) = pop(j)^α / (1 + visits_j)^γ`` (``pop`` = log frequency normalized to (0, 1]). Visits
grow as paths are taken, so later walks of the same run — and of later runs, when the caller
passes the persisted counters back in — drift towards what is still uncovered.

Rules of a walk (``walk_paths``):

* the start is drawn among the nodes of the walk's discipline with probability ∝ V(start).
  Nodes with neighbours in a connected component of at least ``min_length`` nodes are
  preferred; otherwise any node with neighbours; degree-0 nodes only when the discipline has
  nothing else (they give paths of length 1);
* a path never revisits a node (so never steps straight back) and stops at ``max_length``
  nodes or when every neighbour is already on the path;
* a path shorter than ``min_length`` is redrawn from a fresh start, at most
  ``max_attempts`` times in all; if every attempt falls short the longest is kept and counted
  in ``WalkResult.short_paths``. Within the component rule above, that only happens when
  self-avoiding walks from the chosen starts keep dead-ending (e.g. a star cannot give more
  than 3 nodes), which is the graph, not the sampler, running out;
* crossing = stepping to a neighbour whose primary discipline differs from the current
  node's. ``prefer`` multiplies the score of crossing steps by ``cross_bonus``; ``avoid``
  drops crossing steps unless no same-discipline step is left.

Everything is deterministic given ``WalkParams.random_seed`` (PCG64). The per-walk kernel
(``_walk_from``) works on plain arrays so it can be compiled later without changing the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "CROSS_MODES",
    "CSRGraph",
    "WalkParams",
    "WalkResult",
    "connected_components",
    "popularity",
    "quotas_from_distribution",
    "value_function",
    "walk_paths",
]

CROSS_MODES = ("allow", "prefer", "avoid")
# Floor of the normalized popularity: a KP with frequency 0 (or rounding to 0) keeps a small
# chance instead of V = 0.
POP_FLOOR = 1e-3


# --------------------------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------------------------


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

        freq = np.asarray(frequency, dtype=np.float64)
        if freq.shape != (n,):
            raise ValueError(f"CSRGraph: {len(freq)} frequencies for {n} nodes")
        if not np.all(np.isfinite(freq)) or np.any(freq < 0):
            raise ValueError("CSRGraph: frequencies must be finite and >= 0")
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
        w = np.asarray(raw_w, dtype=np.float64).reshape(-1)
        if not (len(a_list) == len(b_list) == len(w)):
            raise ValueError("CSRGraph: edge columns differ in length")
        unknown = sorted({x for x in (*a_list, *b_list) if x not in index})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValueError(f"CSRGraph: edges reference unknown node(s) {shown}{more}")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("CSRGraph: edge weights must be finite and > 0")
        a = np.fromiter((index[x] for x in a_list), dtype=np.int64, count=len(a_list))
        b = np.fromiter((index[x] for x in b_list), dtype=np.int64, count=len(b_list))
        loops = np.flatnonzero(a == b)
        if loops.size:
            raise ValueError(f"CSRGraph: self edge on node {ids[a[loops[0]]]!r}")

        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        both_w = np.concatenate([w, w])
        order = np.lexsort((dst, src))
        src, dst, both_w = src[order], dst[order], both_w[order]
        repeated = np.flatnonzero((src[1:] == src[:-1]) & (dst[1:] == dst[:-1]))
        if repeated.size:
            i, j = src[repeated[0]], dst[repeated[0]]
            raise ValueError(f"CSRGraph: edge {ids[i]!r} - {ids[j]!r} given more than once")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        return cls(
            node_ids=ids,
            indptr=indptr,
            indices=dst.astype(np.int32),
            weights=both_w.astype(np.float32),
            frequency=freq,
            discipline=discipline,
            discipline_names=names,
        )


def connected_components(graph: CSRGraph) -> np.ndarray:
    """Component label per node (the smallest node index in its component), by vectorized
    hooking and pointer jumping: O(E) per round, O(log n) rounds in practice."""
    n = graph.n_nodes
    labels = np.arange(n, dtype=np.int64)
    if graph.indices.size == 0:
        return labels
    src = np.repeat(np.arange(n, dtype=np.int64), graph.degree)
    dst = graph.indices.astype(np.int64)
    while True:
        ls, ld = labels[src], labels[dst]
        differ = ls != ld
        if not differ.any():
            return labels
        # both directions are stored, so every root meets its smaller neighbour root;
        # labels only decrease, which rules out cycles
        np.minimum.at(labels, ls[differ], ld[differ])
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


# --------------------------------------------------------------------------------------------
# parameters and value function
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkParams:
    """Walk parameters; the first six mirror ``settings.walk`` (see ``from_settings``)."""

    alpha: float = 0.5
    beta: float = 1.0
    gamma: float = 1.0
    min_length: int = 3
    max_length: int = 5
    random_seed: int = 20260801
    cross_discipline: str = "allow"
    cross_bonus: float = 2.0
    max_attempts: int = 8  # starts tried per path before a short path is accepted

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"WalkParams.{name} must be finite and >= 0, got {value!r}")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"WalkParams: need 1 <= min_length <= max_length, got {self.min_length}, {self.max_length}")
        if self.cross_discipline not in CROSS_MODES:
            raise ValueError(f"WalkParams.cross_discipline must be one of {CROSS_MODES}, got {self.cross_discipline!r}")
        if not np.isfinite(self.cross_bonus) or self.cross_bonus <= 0:
            raise ValueError(f"WalkParams.cross_bonus must be > 0, got {self.cross_bonus!r}")
        if self.max_attempts < 1:
            raise ValueError("WalkParams.max_attempts must be >= 1")

    @classmethod
    def from_settings(cls, walk: Any, **overrides: Any) -> WalkParams:
        """From a ``WalkSettings``-like object; fields it lacks keep their defaults."""
        values = {
            name: getattr(walk, name)
            for name in cls.__dataclass_fields__
            if hasattr(walk, name)
        }
        values.update(overrides)
        return cls(**values)


def popularity(frequency: np.ndarray) -> np.ndarray:
    """log1p(freq) / max(log1p(freq)), floored at POP_FLOOR: in (0, 1]."""
    lf = np.log1p(np.maximum(np.asarray(frequency, dtype=np.float64), 0.0))
    top = lf.max() if lf.size else 0.0
    pop = lf / top if top > 0 else np.ones_like(lf)
    return np.maximum(pop, POP_FLOOR)


def value_function(frequency: np.ndarray, visits: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    """V(j) = pop(j)^α / (1 + visits_j)^γ."""
    v = np.asarray(visits, dtype=np.float64)
    return popularity(frequency) ** alpha / (1.0 + v) ** gamma


# --------------------------------------------------------------------------------------------
# discipline quotas
# --------------------------------------------------------------------------------------------


def quotas_from_distribution(total: int, target: Mapping[str, float], available: Iterable[str]) -> dict[str, int]:
    """Split ``total`` paths over disciplines by the largest-remainder method.

    Only ``available`` disciplines (those with start nodes) get paths; the share of target
    disciplines that are not available goes to the others in proportion. An empty target
    means uniform over ``available``. Exact arithmetic (fractions) so the result does not
    depend on float rounding; remainder ties go to the larger share, then to the name.
    Returns every available and every target discipline (unavailable ones with 0), sums
    to ``total``. Raises ValueError when the paths cannot be placed.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    avail = sorted(set(available))
    for name, share in target.items():
        if not np.isfinite(share) or share < 0:
            raise ValueError(f"target share of {name!r} must be finite and >= 0, got {share!r}")
    result = {name: 0 for name in sorted({*avail, *target})}
    if total == 0:
        return result
    if not avail:
        raise ValueError(f"cannot place {total} paths: no discipline has start nodes")
    if target:
        shares = {d: Fraction(target[d]) for d in avail if target.get(d, 0) > 0}
        if not shares:
            raise ValueError(
                f"target_distribution gives no share to a discipline with KPs "
                f"(target: {sorted(target)}, available: {avail})"
            )
    else:
        shares = {d: Fraction(1) for d in avail}
    whole = sum(shares.values())
    exact = {d: total * s / whole for d, s in shares.items()}
    for d, q in exact.items():
        result[d] = int(q)  # floor: q >= 0
    left = total - sum(result[d] for d in exact)
    by_remainder = sorted(exact, key=lambda d: (-(exact[d] - int(exact[d])), -shares[d], d))
    for d in by_remainder[:left]:
        result[d] += 1
    return result


# --------------------------------------------------------------------------------------------
# walking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WalkResult:
    paths: list[np.ndarray]  # int32 node indices, in walk order
    start_discipline: list[str]  # per path
    visits: np.ndarray  # int64 per node, input visits + this run's paths
    short_paths: int = 0  # paths accepted below min_length (see module docstring)
    attempts: list[int] = field(default_factory=list)  # starts tried per path

    def __len__(self) -> int:
        return len(self.paths)


def _draw(cum: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn ∝ the increments of the cumulative sum ``cum`` (last entry > 0)."""
    k = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
    if k >= len(cum):  # u·total rounded up to total: fall back to the last positive entry
        k = int(np.flatnonzero(np.diff(np.r_[0.0, cum]) > 0)[-1])
    return k


def _draw_start(pool: np.ndarray, value: np.ndarray, rng: np.random.Generator) -> int:
    """A start node of ``pool`` drawn ∝ V (uniformly if V underflowed to 0)."""
    if pool.size == 1:
        return int(pool[0])
    cum = np.cumsum(value[pool])
    if not cum[-1] > 0:
        cum = np.arange(1, pool.size + 1, dtype=np.float64)
    return int(pool[_draw(cum, rng)])


def _walk_from(
    start: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    wpow: np.ndarray,
    value: np.ndarray,
    discipline: np.ndarray,
    on_path: np.ndarray,
    max_length: int,
    cross_mode: int,  # 0 allow, 1 prefer, 2 avoid
    cross_bonus: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One self-avoiding walk. ``on_path`` is all-False on entry and on exit."""
    path = [start]
    on_path[start] = True
    cur = start
    while len(path) < max_length:
        lo, hi = indptr[cur], indptr[cur + 1]
        if lo == hi:
            break
        nbr = indices[lo:hi]
        free = ~on_path[nbr]
        if not free.any():
            break
        score = wpow[lo:hi] * value[nbr]
        if cross_mode:
            cross = discipline[nbr] != discipline[cur]
            if cross_mode == 1:
                score = np.where(cross, score * cross_bonus, score)
            else:
                same = free & ~cross
                if same.any():
                    free = same
        score = np.where(free, score, 0.0)
        cum = np.cumsum(score)
        if not cum[-1] > 0:  # V underflowed to 0 everywhere: uniform over the allowed steps
            cum = np.cumsum(free.astype(np.float64))
        nxt = int(nbr[_draw(cum, rng)])
        path.append(nxt)
        on_path[nxt] = True
        cur = nxt
    on_path[path] = False
    return np.asarray(path, dtype=np.int32)


def _schedule(quotas: Mapping[str, int]) -> list[str]:
    """Interleave disciplines so each one's walks are spread evenly over the run (walk k of
    a discipline with quota q sits at (k + ½)/q), instead of one discipline using up the
    unvisited KPs before the next starts. Ties go to the discipline name; equal fractions
    are equal doubles (division is correctly rounded), so the order is exact."""
    names = sorted(d for d, q in quotas.items() if q > 0)
    if not names:
        return []
    counts = np.array([quotas[d] for d in names], dtype=np.int64)
    owner = np.repeat(np.arange(len(names)), counts)
    k = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    position = (2 * k + 1) / (2 * counts[owner])
    order = np.lexsort((owner, position))
    return [names[i] for i in owner[order].tolist()]


def walk_paths(
    graph: CSRGraph,
    quotas: Mapping[str, int],
    params: WalkParams,
    visits: np.ndarray | None = None,
) -> WalkResult:
    """Take ``quotas[d]`` walks starting in each discipline ``d`` (see module docstring).

    ``visits`` (int64 per node, e.g. counters persisted from earlier runs) is not modified;
    the result carries an updated copy. Raises ValueError for a positive quota on a
    discipline without nodes.
    """
    n = graph.n_nodes
    if visits is None:
        counts = np.zeros(n, dtype=np.int64)
    else:
        counts = np.array(visits, dtype=np.int64, copy=True)
        if counts.shape != (n,):
            raise ValueError(f"visits has shape {counts.shape}, graph has {n} nodes")
        if np.any(counts < 0):
            raise ValueError("visits must be >= 0")
    for d, q in quotas.items():
        if q < 0:
            raise ValueError(f"quota for {d!r} is negative ({q})")

    rng = np.random.Generator(np.random.PCG64(params.random_seed))
    pop_alpha = popularity(graph.frequency) ** params.alpha
    value = pop_alpha / (1.0 + counts) ** params.gamma
    wpow = graph.weights.astype(np.float64) ** params.beta
    degree = graph.degree
    labels = connected_components(graph)
    comp_size = np.bincount(labels, minlength=n)[labels]
    code_of = {d: k for k, d in enumerate(graph.discipline_names)}

    pools: dict[str, np.ndarray] = {}
    for d, q in sorted(quotas.items()):
        if q <= 0:
            continue
        if d not in code_of:
            raise ValueError(f"{q} path(s) requested for discipline {d!r}, which has no KPs in the graph")
        members = np.flatnonzero(graph.discipline == code_of[d])
        linked = members[degree[members] > 0]
        long_enough = linked[comp_size[linked] >= params.min_length]
        pools[d] = long_enough if long_enough.size else (linked if linked.size else members)

    cross_mode = CROSS_MODES.index(params.cross_discipline)
    on_path = np.zeros(n, dtype=bool)
    paths: list[np.ndarray] = []
    starts: list[str] = []
    attempts_used: list[int] = []
    short = 0
    for d in _schedule(quotas):
        pool = pools[d]
        best: np.ndarray | None = None
        tries = 0
        while tries < params.max_attempts:
            tries += 1
            start = _draw_start(pool, value, rng)
            path = _walk_from(
                start, graph.indptr, graph.indices, wpow, value, graph.discipline, on_path,
                params.max_length, cross_mode, params.cross_bonus, rng,
            )
            if best is None or len(path) > len(best):
                best = path
            if len(best) >= params.min_length or degree[start] == 0:
                break
        assert best is not None
        if len(best) < params.min_length:
            short += 1
        # a path has no repeated nodes, so fancy-index += is exact
        counts[best] += 1
        value[best] = pop_alpha[best] / (1.0 + counts[best]) ** params.gamma
        paths.append(best)
        starts.append(d)
        attempts_used.append(tries)
    return WalkResult(paths=paths, start_discipline=starts, visits=counts, short_paths=short, attempts=attempts_used)
