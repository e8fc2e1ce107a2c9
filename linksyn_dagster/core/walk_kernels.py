"""The walker's numba kernels: counter-based random streams, alias tables, steps, start
draws and the batched walks. The algorithm, and why it is exact, is described in
:mod:`linksyn_dagster.core.walker`, whose ``walk_paths`` calls ``build_pools``,
``build_tables`` and ``run_batches`` here (and ``mix64`` to key the streams). Compiled on
first use and cached (``cache=True``: in ``__pycache__`` beside this file)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Proposals rejected in a row before a step (a start) falls back to the exact scan. Any
# value keeps the distribution exact; it only trades wasted proposals against O(degree) work.
STEP_REJECT_LIMIT = 32
START_REJECT_LIMIT = 64
# a node's (a pool's) table is rebuilt from the current V after a batch in which one of its
# draws had more rejections than this for V below the snapshot, i.e. when visits have made
# the snapshot stale (rebuilds keep the expected proposals per step small; any threshold
# keeps the distribution exact)
REBUILD_AFTER = 4
# walks one thread advances in turn (see _walk_group)
_INTERLEAVE = 8
# _propose results and walk states of _walk_group
_DEAD_END, _NEEDS_SCAN = -1, -2
_WALKING, _SCANNING, _ATTEMPT_OVER, _DONE = 0, 1, 2, 3

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_FULL = np.uint64(0xFFFFFFFF) << np.uint64(32)
_TWO32 = 4294967296.0
_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True, inline="always")
def mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(state):
    """splitmix64: the next state and a double uniform in [0, 1) (53 random bits)."""
    state = state + _GOLDEN
    return state, np.float64(mix64(state) >> np.uint64(11)) * _UNIT


@njit(cache=True)
def _stream(seed_key, walk):
    """The initial state of walk ``walk``'s own stream."""
    return mix64(seed_key ^ mix64((np.uint64(walk) + np.uint64(1)) * _GOLDEN))


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
def _table_scratch(width):
    """Work arrays for building tables of up to ``width`` entries (``_fill_table``'s ``p``,
    ``snap``, ``targets``, ``small``, ``large``), allocated once and reused table after table."""
    return (np.empty(width, dtype=np.float64), np.empty(width, dtype=np.float32), np.empty(width, dtype=np.int64),
            np.empty(width, dtype=np.int64), np.empty(width, dtype=np.int64))


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
def build_tables(nodes, chunks, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus, table,
                  usable):
    """(Re)build the step tables of ``nodes``, in parallel over ``chunks`` of that list."""
    for c in prange(chunks.size - 1):
        widest = 1
        for t in range(chunks[c], chunks[c + 1]):
            i = nodes[t]
            widest = max(widest, indptr[i + 1] - indptr[i])
        p, snap, targets, small, large = _table_scratch(widest)
        for t in range(chunks[c], chunks[c + 1]):
            i = nodes[t]
            usable[i] = _node_table(i, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus,
                                    table, p, snap, targets, small, large)


@njit(cache=True)
def build_pools(pools, pool_ptr, pool_nodes, value, table, usable):
    """(Re)build the start tables of the pools listed in ``pools``."""
    widest = 1
    for q in pools:
        widest = max(widest, pool_ptr[q + 1] - pool_ptr[q])
    p, snap, targets, small, large = _table_scratch(widest)
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
def run_batches(seed_key, batch_size, walk_pool, pool_ptr, pool_nodes, pool_table, pool_usable, indptr, indices,
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
            build_tables(nodes, chunks, indptr, indices, weights, beta, value, discipline, cross_mode, cross_bonus,
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
            build_pools(rebuild[:n_pools], pool_ptr, pool_nodes, value, pool_table, pool_usable)
            for t in range(n_pools):
                pool_marked[rebuild[t]] = False
            rebuilt_pools += n_pools
    return rebuilt_nodes, rebuilt_pools
