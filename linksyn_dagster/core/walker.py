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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
from numba import njit, prange

__all__ = [
    "AUTO_BATCH_MAX",
    "CROSS_MODES",
    "CSRGraph",
    "WalkParams",
    "WalkResult",
    "auto_batch_size",
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
# Proposals rejected in a row before a step (a start) falls back to the exact scan. Any
# value keeps the distribution exact; it only trades wasted proposals against O(degree) work.
STEP_REJECT_LIMIT = 32
START_REJECT_LIMIT = 64
# a node's (a pool's) table is rebuilt from the current V after a batch in which one of its
# draws had more rejections than this for V below the snapshot, i.e. when visits have made
# the snapshot stale (rebuilds keep the expected proposals per step small; any threshold
# keeps the distribution exact)
REBUILD_AFTER = 4
# with the coverage term on, nodes of at most this degree are stepped by an exact scan of
# their neighbours instead of their (quickly stale) table
SCAN_DEGREE = 32
AUTO_BATCH_MAX = 4096
# walks one thread advances in turn (see _walk_group)
_INTERLEAVE = 8
# _propose results and walk states of _walk_group
_DEAD_END, _NEEDS_SCAN = -1, -2
_WALKING, _SCANNING, _ATTEMPT_OVER, _DONE = 0, 1, 2, 3
# nodes per chunk when alias tables are built in parallel (chunks are balanced by edges)
_TABLE_CHUNKS = 256
_DECAY_TABLE = 1 << 16

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_FULL = np.uint64(0xFFFFFFFF) << np.uint64(32)
_TWO32 = 4294967296.0
_UNIT = 1.0 / 9007199254740992.0  # 2^-53
_U64_MASK = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# kernels: random streams, alias tables, steps, walks
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(state):
    """splitmix64: the next state and a double uniform in [0, 1) (53 random bits)."""
    state = state + _GOLDEN
    return state, np.float64(_mix64(state) >> np.uint64(11)) * _UNIT


@njit(cache=True)
def _stream(seed_key, walk):
    """The initial state of walk ``walk``'s own stream."""
    return _mix64(seed_key ^ _mix64((np.uint64(walk) + np.uint64(1)) * _GOLDEN))


@njit(cache=True, inline="always")
def _snapshot(v):
    """V as a table stores it: float32 rounded up, so the V it stands for never exceeds it
    (0 stays 0: such a target is never proposed)."""
    f = np.float32(v)
    if np.float64(f) < v:
        f = np.uint32(f.view(np.uint32) + np.uint32(1)).view(np.float32)
    return f


@njit(cache=True)
def _fill_table(p, snap, targets, d, table, lo, small, large):
    """Vose's alias table over the weights ``p[:d]`` (>= 0, finite positive sum) into entries
    ``lo .. lo+d`` of ``table``, two words per entry: keep threshold (fixed point, high 32
    bits) | alias column, and V0 snapshot (float32 bits, high) | target node. Full columns
    alias to themselves. ``p`` is overwritten."""
    for k in range(d):
        table[2 * (lo + k) + 1] = (np.uint64(np.float32(snap[k]).view(np.uint32)) << np.uint64(32)) | np.uint64(targets[k])
    total = 0.0
    for k in range(d):
        total += p[k]
    scale = d / total
    ns = 0
    nl = 0
    for k in range(d):
        p[k] *= scale
        if p[k] < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        keep = min(p[s] * _TWO32, _TWO32 - 1.0)
        table[2 * (lo + s)] = (np.uint64(keep) << np.uint64(32)) | np.uint64(g)
        p[g] = (p[g] + p[s]) - 1.0
        if p[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    while nl > 0:
        nl -= 1
        table[2 * (lo + large[nl])] = _FULL | np.uint64(large[nl])
    while ns > 0:  # leftovers of rounding: probability 1 within their column
        ns -= 1
        table[2 * (lo + small[ns])] = _FULL | np.uint64(small[ns])


@njit(cache=True, inline="always")
def _alias_draw(table, lo, d, state):
    """(target, its V0 snapshot) of a column of ``table[lo:lo+d]`` drawn by the alias method
    from one uniform: its integer part picks the column, its fraction keep or alias."""
    state, u = _uniform(state)
    x = u * d
    k = np.int64(x)
    if k >= d:
        k = d - 1
    e = 2 * (lo + k)
    head = table[e]
    if (x - k) * _TWO32 >= np.float64(head >> np.uint64(32)):
        e = 2 * (lo + np.int64(head & _LOW32))
    tail = table[e + 1]
    return np.int64(tail & _LOW32), np.float64(np.uint32(tail >> np.uint64(32)).view(np.float32)), state


@njit(cache=True)
def _node_table(i, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus, table, p, snap,
                targets, small, large):
    """Node ``i``'s step table over its neighbours from the current V: weights
    ``w_ij^β · snapshot(V(j)) · bonus_ij``. Returns whether they have a positive total."""
    lo = indptr[i]
    d = indptr[i + 1] - lo
    own = discipline[i]
    total = 0.0
    for k in range(d):
        j = indices[lo + k]
        v0 = _snapshot(value[j])
        w = np.float64(weights[lo + k])
        x = (w if beta == 1.0 else w**beta) * np.float64(v0)
        if cross_mode != 0 and discipline[j] != own:
            x = x * cross_bonus if cross_mode == 1 else 0.0
        p[k] = x
        snap[k] = v0
        targets[k] = j
        total += x
    if d > 0 and total > 0.0 and total < np.inf:
        _fill_table(p, snap, targets, d, table, lo, small, large)
        return True
    return False


@njit(cache=True)
def _pool_table(q, pool_ptr, pool_nodes, value, table, p, snap, targets, small, large):
    """Start pool ``q``'s table over its nodes, weights snapshot(V). Returns whether they
    have a positive total."""
    lo = pool_ptr[q]
    d = pool_ptr[q + 1] - lo
    total = 0.0
    for k in range(d):
        s = pool_nodes[lo + k]
        v0 = _snapshot(value[s])
        p[k] = np.float64(v0)
        snap[k] = v0
        targets[k] = s
        total += p[k]
    if d > 0 and total > 0.0 and total < np.inf:
        _fill_table(p, snap, targets, d, table, lo, small, large)
        return True
    return False


@njit(cache=True, parallel=True)
def _build_tables(nodes, chunks, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus, table,
                  usable):
    """(Re)build the step tables of ``nodes``, in parallel over ``chunks`` of that list."""
    for c in prange(chunks.size - 1):
        widest = 1
        for t in range(chunks[c], chunks[c + 1]):
            i = nodes[t]
            widest = max(widest, indptr[i + 1] - indptr[i])
        p = np.empty(widest, dtype=np.float64)
        snap = np.empty(widest, dtype=np.float32)
        targets = np.empty(widest, dtype=np.int64)
        small = np.empty(widest, dtype=np.int64)
        large = np.empty(widest, dtype=np.int64)
        for t in range(chunks[c], chunks[c + 1]):
            i = nodes[t]
            usable[i] = _node_table(i, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus,
                                    table, p, snap, targets, small, large)


@njit(cache=True)
def _build_pools(pools, pool_ptr, pool_nodes, value, table, usable):
    """(Re)build the start tables of the pools listed in ``pools``."""
    widest = 1
    for q in pools:
        widest = max(widest, pool_ptr[q + 1] - pool_ptr[q])
    p = np.empty(widest, dtype=np.float64)
    snap = np.empty(widest, dtype=np.float32)
    targets = np.empty(widest, dtype=np.int64)
    small = np.empty(widest, dtype=np.int64)
    large = np.empty(widest, dtype=np.int64)
    for q in pools:
        usable[q] = _pool_table(q, pool_ptr, pool_nodes, value, table, p, snap, targets, small, large)


@njit(cache=True, inline="always")
def _on_path(paths, row, length, j):
    for t in range(length):
        if paths[row, t] == j:
            return True
    return False


@njit(cache=True)
def _scan_step(cur, paths, row, length, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus,
               state):
    """The exact O(degree) step from ``cur`` (the path is ``paths[row, :length]``): the next
    node, or _DEAD_END."""
    lo = indptr[cur]
    d = indptr[cur + 1] - lo
    own = discipline[cur]
    free_all = 0
    free_same = 0
    total_all = 0.0
    total_same = 0.0
    for k in range(d):
        j = indices[lo + k]
        if _on_path(paths, row, length, j):
            continue
        w = np.float64(weights[lo + k])
        x = (w if beta == 1.0 else w**beta) * value[j]
        cross = discipline[j] != own
        if cross_mode == 1 and cross:
            x *= cross_bonus
        free_all += 1
        total_all += x
        if not cross:
            free_same += 1
            total_same += x
    if free_all == 0:
        return _DEAD_END, state
    only_same = cross_mode == 2 and free_same > 0
    count = free_same if only_same else free_all
    total = total_same if only_same else total_all
    uniform = not (total > 0.0 and total < np.inf)  # V underflowed: uniform over the allowed
    state, u = _uniform(state)
    target = u * (count if uniform else total)
    acc = 0.0
    last = _DEAD_END
    for k in range(d):
        j = indices[lo + k]
        if _on_path(paths, row, length, j):
            continue
        cross = discipline[j] != own
        if only_same and cross:
            continue
        if uniform:
            x = 1.0
        else:
            w = np.float64(weights[lo + k])
            x = (w if beta == 1.0 else w**beta) * value[j]
            if cross_mode == 1 and cross:
                x *= cross_bonus
            if x <= 0.0:
                continue
        acc += x
        last = j
        if target < acc:
            return j, state
    return last, state  # u · total rounded up to the total


@njit(cache=True, inline="always")
def _propose(cur, paths, row, length, indptr, indices, wpow, table, usable, value, discipline, cross_mode,
             cross_bonus, scan_degree, cum, state):
    """The fast path of a step from ``cur`` (the path is ``paths[row, :length]``). Nodes of
    degree <= ``scan_degree`` are stepped by the exact scan of their neighbours (their V
    loads are independent, so they overlap; no table to go stale); others by rejection
    against their alias table, accepting ``j`` with V(j)/snapshot(j) unless it is on the
    path. Returns the next node, or _DEAD_END (no neighbours), or _NEEDS_SCAN (no usable
    table, STEP_REJECT_LIMIT rejections, or nothing left to scan: the general scan decides),
    and the rejections for V below the snapshot (not for being on the path: a rebuild cannot
    help those). No calls and few branches on loaded data, so the CPU overlaps the cache
    misses of several walks (see _walk_group)."""
    lo = indptr[cur]
    d = indptr[cur + 1] - lo
    if d == 0:
        return _DEAD_END, state, 0
    if d <= scan_degree:
        # exact ∝ w^β · V over all neighbours, then rejection of those on the path
        own = discipline[cur]
        total = 0.0
        for k in range(d):
            j = indices[lo + k]
            x = np.float64(wpow[lo + k]) * value[j]
            if cross_mode == 1 and discipline[j] != own:
                x *= cross_bonus
            total += x
            cum[k] = total
        if not (total > 0.0 and total < np.inf):
            return _NEEDS_SCAN, state, 0
        for _ in range(STEP_REJECT_LIMIT):
            state, u = _uniform(state)
            target = u * total
            k = 0
            while k < d - 1 and cum[k] <= target:
                k += 1
            j = indices[lo + k]
            seen = False
            for s in range(paths.shape[1]):
                seen |= (paths[row, s] == j) & (s < length)
            if not seen:
                return j, state, 0
        return _NEEDS_SCAN, state, 0
    if not usable[cur]:
        return _NEEDS_SCAN, state, 0
    stale = 0
    for _ in range(STEP_REJECT_LIMIT):
        j, v0, state = _alias_draw(table, lo, d, state)
        seen = False
        for s in range(paths.shape[1]):  # fixed trip count: no branch per path node
            seen |= (paths[row, s] == j) & (s < length)
        state, u = _uniform(state)
        lowered = u * v0 >= value[j]
        if not (seen | lowered):
            return j, state, stale
        if lowered and not seen:
            stale += 1
    return _NEEDS_SCAN, state, stale


@njit(cache=True)
def _draw_start(q, pool_ptr, pool_nodes, pool_table, pool_usable, value, state):
    """A start node of pool ``q`` drawn ∝ V (uniformly if V underflowed to 0), by rejection
    against the pool's table with an exact O(pool) fallback; and the rejections."""
    lo, hi = pool_ptr[q], pool_ptr[q + 1]
    d = hi - lo
    if pool_usable[q]:
        for t in range(START_REJECT_LIMIT):
            s, v0, state = _alias_draw(pool_table, lo, d, state)
            state, u = _uniform(state)
            if u * v0 < value[s]:
                return s, state, t
    total = 0.0
    for k in range(lo, hi):
        total += value[pool_nodes[k]]
    uniform = not (total > 0.0 and total < np.inf)
    state, u = _uniform(state)
    target = u * (d if uniform else total)
    acc = 0.0
    last = pool_nodes[lo]
    for k in range(lo, hi):
        s = pool_nodes[k]
        v = 1.0 if uniform else value[s]
        if v <= 0.0:
            continue
        acc += v
        last = s
        if target < acc:
            return s, state, START_REJECT_LIMIT
    return last, state, START_REJECT_LIMIT


@njit(cache=True)
def _walk_group(k0, m, b0, seed_key, walk_pool, pool_ptr, pool_nodes, pool_table, pool_usable, indptr, indices,
                weights, wpow, beta, table, usable, value, discipline, cross_mode, cross_bonus, scan_degree,
                min_length, max_length, max_attempts, out, lengths, attempts, stale_nodes, stale_count, stale_pool):
    """Walks ``k0 .. k0+m-1``, each with up to ``max_attempts`` starts (the longest path kept
    in ``out[k]``). They advance one proposal round each in turn: a single walk is a chain of
    dependent cache misses (node -> its table -> the neighbour -> its table), while steps of
    different walks are independent, so the CPU overlaps their misses. The rare events
    (exact scans, ends of attempts, restarts) wait for a second pass so the first stays
    tight. Each walk draws only from its own stream, so the interleaving changes no path.
    Nodes (pools) whose draws took more than REBUILD_AFTER proposals are noted in
    ``stale_*[k - b0]`` for a rebuild after the batch."""
    state = np.empty(m, dtype=np.uint64)
    cur = np.empty(m, dtype=np.int64)
    length = np.zeros(m, dtype=np.int64)  # nodes in the current attempt
    best = np.zeros(m, dtype=np.int64)
    tries = np.zeros(m, dtype=np.int64)
    status = np.empty(m, dtype=np.int8)
    paths = np.empty((m, max_length), dtype=np.int32)  # the current attempts
    cum = np.empty(max(scan_degree, 1), dtype=np.float64)
    capacity = stale_nodes.shape[1]
    for g in range(m):
        k = k0 + g
        stale_count[k - b0] = 0
        stale_pool[k - b0] = False
        start, s, made = _draw_start(walk_pool[k], pool_ptr, pool_nodes, pool_table, pool_usable, value,
                                     _stream(seed_key, k))
        if made > REBUILD_AFTER:
            stale_pool[k - b0] = True
        paths[g, 0] = start
        cur[g] = start
        length[g] = 1
        tries[g] = 1
        state[g] = s
        status[g] = _WALKING if max_length > 1 else _ATTEMPT_OVER
    active = m
    slow = m
    while active > 0:
        if slow == 0:
            for g in range(m):  # fast pass: one proposal round per walking walk
                if status[g] != _WALKING:
                    continue
                n_g = length[g]
                c = cur[g]
                nxt, s, made = _propose(c, paths, g, n_g, indptr, indices, wpow, table, usable, value, discipline,
                                        cross_mode, cross_bonus, scan_degree, cum, state[g])
                state[g] = s
                if made > REBUILD_AFTER:
                    f = stale_count[k0 + g - b0]
                    if f < capacity:
                        stale_nodes[k0 + g - b0, f] = c
                        stale_count[k0 + g - b0] = f + 1
                if nxt >= 0:
                    paths[g, n_g] = nxt
                    length[g] = n_g + 1
                    cur[g] = nxt
                    if n_g + 1 < max_length:
                        continue
                    status[g] = _ATTEMPT_OVER
                else:
                    status[g] = _SCANNING if nxt == _NEEDS_SCAN else _ATTEMPT_OVER
                slow += 1
            continue
        for g in range(m):  # slow pass: exact scans, ends of attempts, restarts
            while status[g] == _SCANNING or status[g] == _ATTEMPT_OVER:
                n_g = length[g]
                if status[g] == _SCANNING:
                    nxt, s = _scan_step(cur[g], paths, g, n_g, indptr, indices, weights, beta, value, discipline,
                                        cross_mode, cross_bonus, state[g])
                    state[g] = s
                    if nxt >= 0:
                        paths[g, n_g] = nxt
                        length[g] = n_g + 1
                        cur[g] = nxt
                        status[g] = _WALKING if n_g + 1 < max_length else _ATTEMPT_OVER
                    else:
                        status[g] = _ATTEMPT_OVER
                    continue
                k = k0 + g
                if tries[g] == 1 or n_g > best[g]:
                    for t in range(n_g):
                        out[k, t] = paths[g, t]
                    best[g] = n_g
                start = paths[g, 0]
                if best[g] >= min_length or indptr[start + 1] == indptr[start] or tries[g] >= max_attempts:
                    lengths[k] = best[g]
                    attempts[k] = tries[g]
                    status[g] = _DONE
                    active -= 1
                    continue
                tries[g] += 1
                start, s, made = _draw_start(walk_pool[k], pool_ptr, pool_nodes, pool_table, pool_usable, value,
                                             state[g])
                if made > REBUILD_AFTER:
                    stale_pool[k - b0] = True
                paths[g, 0] = start
                cur[g] = start
                length[g] = 1
                state[g] = s
                status[g] = _WALKING if max_length > 1 else _ATTEMPT_OVER
        slow = 0


@njit(cache=True, parallel=True)
def _run_batches(seed_key, batch_size, walk_pool, pool_ptr, pool_nodes, pool_table, pool_usable, indptr, indices,
                 weights, wpow, beta, table, usable, value, pop_alpha, gamma, decay, visits, discipline, cross_mode,
                 cross_bonus, scan_degree, min_length, max_length, max_attempts, out, lengths, attempts):
    """All walks, batch by batch: the walks of a batch in parallel (groups of _INTERLEAVE)
    against the V of the batch start; then the batch's visits are counted, V of the visited
    nodes updated, and the tables noted as stale rebuilt from the new V. Returns the number
    of node and pool table rebuilds."""
    n_walks = walk_pool.size
    n = indptr.size - 1
    span = min(batch_size, n_walks)
    stale_nodes = np.empty((span, max_length), dtype=np.int64)
    stale_count = np.zeros(span, dtype=np.int64)
    stale_pool = np.zeros(span, dtype=np.bool_)
    marked = np.zeros(n, dtype=np.bool_)
    pool_marked = np.zeros(pool_ptr.size - 1, dtype=np.bool_)
    rebuild = np.empty(span * max_length, dtype=np.int64)
    rebuilt_nodes = 0
    rebuilt_pools = 0
    for b0 in range(0, n_walks, batch_size):
        b1 = min(b0 + batch_size, n_walks)
        n_groups = (b1 - b0 + _INTERLEAVE - 1) // _INTERLEAVE
        if n_groups == 1:  # no parallel region for a single group (batch_size = 1 runs sequentially)
            _walk_group(b0, b1 - b0, b0, seed_key, walk_pool, pool_ptr, pool_nodes, pool_table, pool_usable, indptr,
                        indices, weights, wpow, beta, table, usable, value, discipline, cross_mode, cross_bonus,
                        scan_degree, min_length, max_length, max_attempts, out, lengths, attempts, stale_nodes,
                        stale_count, stale_pool)
        else:
            for c in prange(n_groups):
                k0 = b0 + c * _INTERLEAVE
                _walk_group(k0, min(_INTERLEAVE, b1 - k0), b0, seed_key, walk_pool, pool_ptr, pool_nodes,
                            pool_table, pool_usable, indptr, indices, weights, wpow, beta, table, usable, value,
                            discipline, cross_mode, cross_bonus, scan_degree, min_length, max_length, max_attempts,
                            out, lengths, attempts, stale_nodes, stale_count, stale_pool)
        for k in range(b0, b1):
            for t in range(lengths[k]):
                visits[out[k, t]] += 1
        if gamma != 0.0:
            for k in range(b0, b1):
                for t in range(lengths[k]):
                    j = out[k, t]
                    v = visits[j]
                    value[j] = pop_alpha[j] * (decay[v] if v < decay.size else (1.0 + v) ** -gamma)
        # stale tables, rebuilt from the new V (the set depends on the walks only, so on
        # the seed, never on the threads)
        n_rebuild = 0
        for k in range(b0, b1):
            for t in range(stale_count[k - b0]):
                i = stale_nodes[k - b0, t]
                if not marked[i]:
                    marked[i] = True
                    rebuild[n_rebuild] = i
                    n_rebuild += 1
        if n_rebuild:
            nodes = rebuild[:n_rebuild]
            n_chunks = min(n_rebuild, 64)
            chunks = np.empty(n_chunks + 1, dtype=np.int64)
            for c in range(n_chunks + 1):
                chunks[c] = c * n_rebuild // n_chunks
            _build_tables(nodes, chunks, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus,
                          table, usable)
            for t in range(n_rebuild):
                marked[nodes[t]] = False
            rebuilt_nodes += n_rebuild
        n_pools = 0
        for k in range(b0, b1):
            q = walk_pool[k]
            if stale_pool[k - b0] and not pool_marked[q]:
                pool_marked[q] = True
                rebuild[n_pools] = q
                n_pools += 1
        if n_pools:
            _build_pools(rebuild[:n_pools], pool_ptr, pool_nodes, value, pool_table, pool_usable)
            for t in range(n_pools):
                pool_marked[rebuild[t]] = False
            rebuilt_pools += n_pools
    return rebuilt_nodes, rebuilt_pools


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
    _build_pools(np.arange(len(pools), dtype=np.int64), pool_ptr, pool_nodes, value, pool_table, pool_usable)

    cross_mode = CROSS_MODES.index(params.cross_discipline)
    beta = float(params.beta)
    table = np.zeros(2 * graph.indices.size, dtype=np.uint64)
    usable = np.zeros(n, dtype=np.bool_)
    _build_tables(np.arange(n, dtype=np.int64), _table_chunks(graph.indptr), graph.indptr, graph.indices,
                  graph.weights, beta, value, graph.discipline, cross_mode, float(params.cross_bonus), table, usable)
    n_walks = walk_pool.size
    out = np.zeros((n_walks, params.max_length), dtype=np.int32)
    lengths = np.zeros(n_walks, dtype=np.int32)
    attempts = np.zeros(n_walks, dtype=np.int32)
    seed_key = np.uint64(_mix64(np.uint64(params.random_seed & _U64_MASK)))
    prepared = time.perf_counter()

    # w^β per edge for the scans; degree-≤ scan_degree nodes are scanned when V changes during
    # the run (γ > 0) and the mode needs no same-discipline fallback
    wpow = graph.weights if beta == 1.0 else (graph.weights.astype(np.float64) ** beta).astype(np.float32)
    scan_degree = SCAN_DEGREE if params.gamma > 0 and cross_mode != 2 else 0
    rebuilt_nodes, rebuilt_pools = _run_batches(
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
