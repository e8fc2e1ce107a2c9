"""The value-function walker over the KP co-occurrence graph (numba kernels over CSR arrays).

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
  drops crossing steps unless no same-discipline step is left;
* walks are taken in an interleaved discipline order (``_schedule``), so no discipline uses
  up the uncovered KPs before the next one starts.

How a step is drawn: exactly, in O(1) expected time. Every node has an alias table over its
neighbours with weights ``w_ij^β · S(j) · bonus_ij``, where ``S(j)`` is a snapshot of V(j)
taken when the table was built (stored in the table, float32 rounded up) and ``bonus`` the
cross mode's factor (0 for crossing edges in ``avoid``). Visits only grow, so V(j) <= S(j);
a proposal ``j`` is accepted with probability ``V(j) / S(j)``, and rejected outright if it
is on the path. Conditioned on acceptance, ``j`` is distributed exactly ∝ ``w_ij^β · V(j) ·
bonus_ij`` over the allowed neighbours, whatever the snapshots are. After
``STEP_REJECT_LIMIT`` rejections the step falls back to the exact O(degree) scan, which has
the same distribution and also settles dead ends, the ``avoid`` fallback to crossing steps
and V underflowing to 0 (then the step is uniform over the allowed neighbours). As visits
accumulate, snapshots go stale and acceptance drops; a table whose draw met more than
``REBUILD_AFTER`` such rejections is rebuilt from the current V between batches (O(degree),
the same set of rebuilds for a seed whatever the threads). Start nodes are drawn the same
way from an alias table over S of the discipline's pool (exact O(pool) fallback after
``START_REJECT_LIMIT`` rejections, rebuilt the same way). Walks advance interleaved in
groups of ``_INTERLEAVE`` per thread, so the CPU overlaps their cache misses. V is held in
float32 (relative precision 6e-8).

Batches, visits and determinism. Walk ``k`` (in schedule order) draws all its random numbers
from its own counter-based stream (splitmix64 keyed by ``random_seed`` and ``k``), so its
path depends only on the seed, ``k`` and the V it sees. Walks run in batches of
``batch_size``: within a batch every walk sees V as it was at the start of the batch, the
batch runs in parallel (numba ``prange`` over the available threads), and its visits are
added before the next batch starts. The result is therefore identical for any number of
threads. ``batch_size = 1`` is the exact sequential process (every walk sees the visits of
all walks before it). A larger batch delays the coverage feedback by at most
``batch_size - 1`` walks: a KP can be picked by several walks of one batch before its
coverage term drops. The effect is negligible while ``batch_size · max_length`` is small
next to the number of KPs (a batch then touches a small share of them), and that is what
``batch_size = 0`` (auto) picks: ``n_nodes // (64 · max_length)`` walks, clamped to
[1, ``AUTO_BATCH_MAX``] — sequential on graphs of up to 64 · max_length KPs, 1562 walks per
batch for 1M KPs and paths of 10. Measured by ``benchmarks/walker.py`` (1M KPs, 10M edges,
1M walks of up to 10 KPs, α 0.5, γ 1): Gini of the visit counts 0.2587 sequentially,
0.2587 with batches of 64, 0.2588 with 1562 (auto), 0.2593 with 16384, 0.2646 with 131072
(the plain weighted walk: 0.4262).
``linksyn_dagster_tests/core/test_walker.py`` checks the sequential distribution and the
batch effect on small graphs.

This module is the walker's public API: parameters, value function, ``walk_paths`` and its
result (the discipline quotas it walks are computed in :mod:`linksyn_dagster.core.quotas`).
The graph (``CSRGraph``, ``connected_components``: exported here too) is in
:mod:`linksyn_dagster.core.csr_graph`; the numba kernels, with the constants named above
(``STEP_REJECT_LIMIT``, ``START_REJECT_LIMIT``, ``REBUILD_AFTER``, ``_INTERLEAVE``), are in
:mod:`linksyn_dagster.core.walk_kernels`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from linksyn_dagster.core.csr_graph import CSRGraph, connected_components
from linksyn_dagster.core.walk_kernels import build_pools, build_tables, mix64, run_batches

__all__ = [
    "AUTO_BATCH_MAX",
    "CROSS_MODES",
    "CSRGraph",
    "WalkParams",
    "WalkResult",
    "auto_batch_size",
    "connected_components",
    "popularity",
    "value_function",
    "walk_paths",
]

CROSS_MODES = ("allow", "prefer", "avoid")
# Floor of the normalized popularity: a KP with frequency 0 (or rounding to 0) keeps a small
# chance instead of V = 0.
POP_FLOOR = 1e-3
# with the coverage term on, nodes of at most this degree are stepped by an exact scan of
# their neighbours instead of their (quickly stale) table
SCAN_DEGREE = 32
AUTO_BATCH_MAX = 4096
# nodes per chunk when alias tables are built in parallel (chunks are balanced by edges)
_TABLE_CHUNKS = 256
_DECAY_TABLE = 1 << 16
_U64_MASK = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# parameters and value function
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkParams:
    """Walk parameters; the first six and ``batch_size`` mirror ``settings.walk`` (see
    ``from_settings``)."""

    alpha: float = 0.5
    beta: float = 1.0
    gamma: float = 1.0
    min_length: int = 3
    max_length: int = 5
    random_seed: int = 20260801
    cross_discipline: str = "allow"
    cross_bonus: float = 2.0
    max_attempts: int = 8  # starts tried per path before a short path is accepted
    batch_size: int = 0  # walks that see the same V (see module docstring); 0 = auto

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
        if self.batch_size < 0:
            raise ValueError(f"WalkParams.batch_size must be >= 0 (0 = auto), got {self.batch_size!r}")

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


def auto_batch_size(n_nodes: int, max_length: int) -> int:
    """The batch size ``batch_size = 0`` stands for (see module docstring)."""
    return int(min(AUTO_BATCH_MAX, max(1, n_nodes // (64 * max_length))))


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
# walking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WalkResult:
    """Paths back to back in ``nodes`` (path ``k`` is ``nodes[offsets[k]:offsets[k+1]]``), so
    millions of paths cost two arrays; ``paths`` and ``start_discipline`` are list views."""

    nodes: np.ndarray  # int32 node indices, every path in walk order
    offsets: np.ndarray  # int64, paths + 1
    start_codes: np.ndarray  # int32 per path, index into start_names
    start_names: tuple[str, ...]
    visits: np.ndarray  # int64 per node, input visits + this run's paths
    short_paths: int = 0  # paths accepted below min_length (see module docstring)
    attempt_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # starts per path
    batch_size: int = 1  # the batch size used (auto resolved)
    # seconds spent (setup_s: pools and tables, walk_s: the walks, collect_s) and table rebuilds
    stats: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def steps(self) -> int:
        """Edges walked by the kept paths."""
        return int(self.nodes.size - len(self))

    @cached_property
    def paths(self) -> list[np.ndarray]:
        return np.split(self.nodes, self.offsets[1:-1]) if len(self) else []

    @cached_property
    def start_discipline(self) -> list[str]:
        return [self.start_names[c] for c in self.start_codes.tolist()]

    @cached_property
    def attempts(self) -> list[int]:
        return self.attempt_counts.tolist()


def _schedule(quotas: Mapping[str, int]) -> tuple[list[str], np.ndarray]:
    """Interleave disciplines so each one's walks are spread evenly over the run (walk k of
    a discipline with quota q sits at (k + ½)/q), instead of one discipline using up the
    unvisited KPs before the next starts. Ties go to the discipline name; equal fractions
    are equal doubles (division is correctly rounded), so the order is exact. Returns the
    disciplines with walks (sorted) and, per walk, the index of its discipline there."""
    names = sorted(d for d, q in quotas.items() if q > 0)
    if not names:
        return [], np.zeros(0, dtype=np.int32)
    counts = np.array([quotas[d] for d in names], dtype=np.int64)
    owner = np.repeat(np.arange(len(names)), counts)
    k = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    position = (2 * k + 1) / (2 * counts[owner])
    order = np.lexsort((owner, position))
    return names, owner[order].astype(np.int32)


def _table_chunks(indptr: np.ndarray) -> np.ndarray:
    """Node boundaries splitting the edges into about equal chunks."""
    n = indptr.size - 1
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], _TABLE_CHUNKS + 1)[1:-1])
    return np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]])).astype(np.int64)


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
    began = time.perf_counter()
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
    code_of = {d: k for k, d in enumerate(graph.discipline_names)}
    for d, q in sorted(quotas.items()):
        if q > 0 and d not in code_of:
            raise ValueError(f"{q} path(s) requested for discipline {d!r}, which has no KPs in the graph")
    names, walk_pool = _schedule(quotas)
    batch = params.batch_size or auto_batch_size(n, params.max_length)
    if not names:
        return WalkResult(nodes=np.zeros(0, dtype=np.int32), offsets=np.zeros(1, dtype=np.int64),
                          start_codes=walk_pool, start_names=(), visits=counts, batch_size=batch,
                          attempt_counts=np.zeros(0, dtype=np.int32))

    pop_alpha = popularity(graph.frequency) ** params.alpha
    # V in float32: half the cache footprint of the array every proposal reads at random
    # (relative precision 6e-8); (1 + v)^-γ looked up for the visit counts a run meets
    value = (pop_alpha / (1.0 + counts) ** params.gamma).astype(np.float32)
    decay = (1.0 + np.arange(_DECAY_TABLE, dtype=np.float64)) ** -float(params.gamma)

    # start pools, one per discipline with walks (see the module docstring for the rule)
    degree = graph.degree
    labels = connected_components(graph)
    comp_size = np.bincount(labels, minlength=n)[labels]
    by_discipline = np.argsort(graph.discipline, kind="stable")
    bounds = np.searchsorted(graph.discipline[by_discipline], np.arange(len(graph.discipline_names) + 1))
    pools = []
    for d in names:
        c = code_of[d]
        members = by_discipline[bounds[c]:bounds[c + 1]]
        linked = members[degree[members] > 0]
        long_enough = linked[comp_size[linked] >= params.min_length]
        pools.append(long_enough if long_enough.size else (linked if linked.size else members))
    pool_ptr = np.zeros(len(pools) + 1, dtype=np.int64)
    np.cumsum([p.size for p in pools], out=pool_ptr[1:])
    pool_nodes = np.concatenate(pools).astype(np.int64)
    pool_table = np.zeros(2 * pool_nodes.size, dtype=np.uint64)
    pool_usable = np.zeros(len(pools), dtype=np.bool_)
    build_pools(np.arange(len(pools), dtype=np.int64), pool_ptr, pool_nodes, value, pool_table, pool_usable)

    cross_mode = CROSS_MODES.index(params.cross_discipline)
    beta = float(params.beta)
    table = np.zeros(2 * graph.indices.size, dtype=np.uint64)
    usable = np.zeros(n, dtype=np.bool_)
    build_tables(np.arange(n, dtype=np.int64), _table_chunks(graph.indptr), graph.indptr, graph.indices,
                  graph.weights, beta, value, graph.discipline, cross_mode, float(params.cross_bonus), table, usable)
    n_walks = walk_pool.size
    out = np.zeros((n_walks, params.max_length), dtype=np.int32)
    lengths = np.zeros(n_walks, dtype=np.int32)
    attempts = np.zeros(n_walks, dtype=np.int32)
    seed_key = np.uint64(mix64(np.uint64(params.random_seed & _U64_MASK)))
    prepared = time.perf_counter()

    # w^β per edge for the scans; degree-≤ scan_degree nodes are scanned when V changes during
    # the run (γ > 0) and the mode needs no same-discipline fallback
    wpow = graph.weights if beta == 1.0 else (graph.weights.astype(np.float64) ** beta).astype(np.float32)
    scan_degree = SCAN_DEGREE if params.gamma > 0 and cross_mode != 2 else 0
    rebuilt_nodes, rebuilt_pools = run_batches(
        seed_key, batch, walk_pool, pool_ptr, pool_nodes, pool_table, pool_usable, graph.indptr, graph.indices,
        graph.weights, wpow, beta, table, usable, value, pop_alpha, float(params.gamma), decay, counts,
        graph.discipline, cross_mode, float(params.cross_bonus), scan_degree, params.min_length, params.max_length,
        params.max_attempts, out, lengths, attempts)
    walked = time.perf_counter()

    offsets = np.zeros(n_walks + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    nodes = out[np.arange(params.max_length)[None, :] < lengths[:, None]]
    start_codes = walk_pool
    return WalkResult(
        nodes=nodes,
        offsets=offsets,
        start_codes=start_codes,
        start_names=tuple(names),
        visits=counts,
        short_paths=int(np.count_nonzero(lengths < params.min_length)),
        attempt_counts=attempts,
        batch_size=batch,
        stats={"setup_s": prepared - began, "walk_s": walked - prepared,
               "collect_s": time.perf_counter() - walked, "node_table_rebuilds": int(rebuilt_nodes),
               "pool_table_rebuilds": int(rebuilt_pools)},
    )
