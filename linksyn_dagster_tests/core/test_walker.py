"""The value-function walker: graph building, value function and walk properties."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import replace

import numba
import numpy as np
import pytest

from linksyn_dagster.core import walker
from linksyn_dagster.core.metrics import gini
from linksyn_dagster.core.quotas import quotas_from_distribution
from linksyn_dagster.core.walker import (
    CROSS_MODES,
    CSRGraph,
    WalkParams,
    auto_batch_size,
    connected_components,
    popularity,
    value_function,
    walk_paths,
)
from linksyn_dagster.settings import WalkSettings

# chi-square critical value, df = 3, p = 0.001: the runs are seeded, so this is a
# correctness bound, not a flakiness budget
CHI2_DF3_P001 = 16.27


# ---------------------------------------------------------------------------------- helpers


def _graph(n: int, edges: list[tuple[int, int, float]], freq=None, disc=None) -> CSRGraph:
    ids = [f"n{i}" for i in range(n)]
    return CSRGraph.from_edges(
        ids,
        np.ones(n) if freq is None else freq,
        ["d"] * n if disc is None else disc,
        ([ids[a] for a, _, _ in edges], [ids[b] for _, b, _ in edges], [w for _, _, w in edges]),
    )


def _power_law_graph(n: int = 400, m: int = 900, seed: int = 5) -> CSRGraph:
    """Chung–Lu-style graph: endpoints drawn ∝ heavy-tailed weights, repeated draws add to
    the co-occurrence weight; a chain keeps it connected. Frequency ∝ weighted degree."""
    rng = np.random.default_rng(seed)
    fitness = rng.pareto(1.3, n) + 1.0
    p = fitness / fitness.sum()
    weight: Counter[tuple[int, int]] = Counter()
    for a, b in zip(rng.choice(n, m, p=p).tolist(), rng.choice(n, m, p=p).tolist(), strict=True):
        if a != b:
            weight[(min(a, b), max(a, b))] += 1
    for i in range(n - 1):
        weight[(i, i + 1)] = max(weight[(i, i + 1)], 1)
    edges = [(a, b, float(w)) for (a, b), w in sorted(weight.items())]
    strength = np.zeros(n)
    for a, b, w in edges:
        strength[a] += w
        strength[b] += w
    return _graph(n, edges, freq=np.round(strength * 3))


def _star(leaf_freq: list[float], leaf_w: list[float]) -> CSRGraph:
    n = len(leaf_freq) + 1
    edges = [(0, i + 1, w) for i, w in enumerate(leaf_w)]
    return _graph(n, edges, freq=np.array([50.0, *leaf_freq]), disc=["hub"] + ["leaf"] * (n - 1))


def _chi2(observed: np.ndarray, probs: np.ndarray) -> float:
    expected = probs / probs.sum() * observed.sum()
    return float(((observed - expected) ** 2 / expected).sum())


def _chi2_adaptive(outcomes: list[int], probs: list[np.ndarray]) -> float:
    """Pearson's statistic for draws whose probabilities change from draw to draw (``probs[k]``
    is the exact distribution of draw ``k`` given the draws before it): observed counts
    against the summed probabilities. Under the null it is asymptotically chi-square with
    categories - 1 degrees of freedom (martingale CLT)."""
    expected = np.sum(probs, axis=0)
    observed = np.bincount(outcomes, minlength=expected.size).astype(float)
    return float(((observed - expected) ** 2 / expected).sum())


def _reference_step(g: CSRGraph, path: list[int], value: np.ndarray, params: WalkParams) -> np.ndarray:
    """The step distribution of the module docstring, over all nodes, straight from the
    definition: ∝ w^β · V · bonus over the free neighbours; ``avoid`` keeps same-discipline
    ones when there are any."""
    cur = path[-1]
    nbr, w = g.neighbors(cur)
    free = np.array([j not in path for j in nbr.tolist()])
    cross = g.discipline[nbr] != g.discipline[cur]
    score = w.astype(float) ** params.beta * value[nbr]
    if params.cross_discipline == "prefer":
        score = np.where(cross, score * params.cross_bonus, score)
    allowed = free & ~cross if params.cross_discipline == "avoid" and np.any(free & ~cross) else free
    probs = np.zeros(g.n_nodes)
    probs[nbr] = np.where(allowed, score, 0.0)
    return probs / probs.sum()


# ---------------------------------------------------------------------------------- CSR graph


def test_from_edges_builds_sorted_symmetric_csr() -> None:
    g = CSRGraph.from_edges(
        ["a", "b", "c", "d", "e"],
        [5, 3, 1, 1, 0],
        ["x", "x", "y", "y", "x"],
        (["a", "c", "b", "d"], ["c", "d", "d", "a"], [1, 3, 1, 4]),  # a-c, c-d, b-d, d-a
    )
    assert g.n_nodes == 5 and g.n_edges == 4
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32 and g.weights.dtype == np.float32
    assert g.discipline_names == ("x", "y")
    assert g.discipline.tolist() == [0, 0, 1, 1, 0]
    expected = {0: {2: 1, 3: 4}, 1: {3: 1}, 2: {0: 1, 3: 3}, 3: {0: 4, 1: 1, 2: 3}, 4: {}}
    for node, nbrs in expected.items():
        idx, w = g.neighbors(node)
        assert idx.tolist() == sorted(nbrs)
        assert w.tolist() == [nbrs[j] for j in sorted(nbrs)]
    assert g.degree.tolist() == [2, 1, 2, 3, 0]


def test_from_edges_validates_input() -> None:
    with pytest.raises(ValueError, match="'ghost'"):
        CSRGraph.from_edges(["a", "b"], [1, 1], ["x", "x"], (["a"], ["ghost"], [1.0]))
    with pytest.raises(ValueError, match="duplicate node id 'a'"):
        CSRGraph.from_edges(["a", "a"], [1, 1], ["x", "x"], ([], [], []))
    with pytest.raises(ValueError, match="more than once"):
        CSRGraph.from_edges(["a", "b"], [1, 1], ["x", "x"], (["a", "b"], ["b", "a"], [1.0, 2.0]))
    with pytest.raises(ValueError, match="self edge"):
        CSRGraph.from_edges(["a", "b"], [1, 1], ["x", "x"], (["a"], ["a"], [1.0]))
    with pytest.raises(ValueError, match="weights"):
        CSRGraph.from_edges(["a", "b"], [1, 1], ["x", "x"], (["a"], ["b"], [0.0]))
    with pytest.raises(ValueError, match="frequencies"):
        CSRGraph.from_edges(["a", "b"], [1], ["x", "x"], ([], [], []))
    with pytest.raises(ValueError, match="no discipline"):
        CSRGraph.from_edges(["a", "b"], [1, 1], ["x", None], ([], [], []))  # type: ignore[list-item]


def test_connected_components_match_bfs() -> None:
    rng = np.random.default_rng(2)
    n = 300
    edges = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(260, 2)) if a < b}
    g = _graph(n, [(a, b, 1.0) for a, b in sorted(edges)])
    labels = connected_components(g)
    seen = np.full(n, -1)
    for s in range(n):
        if seen[s] >= 0:
            continue
        queue = deque([s])
        seen[s] = s
        while queue:
            u = queue.popleft()
            for v in g.neighbors(u)[0].tolist():
                if seen[v] < 0:
                    seen[v] = s
                    queue.append(v)
    assert labels.tolist() == seen.tolist()  # both label a component by its smallest node


# ---------------------------------------------------------------------- value function, params


def test_value_function() -> None:
    freq = np.array([1.0, 3.0])  # log1p -> ln 2, ln 4 -> pop 0.5, 1
    np.testing.assert_allclose(value_function(freq, np.array([0, 0]), 1.0, 1.0), [0.5, 1.0])
    np.testing.assert_allclose(value_function(freq, np.array([0, 1]), 1.0, 1.0), [0.5, 0.5])
    np.testing.assert_allclose(value_function(freq, np.array([0, 3]), 0.0, 2.0), [1.0, 1 / 16])
    never = value_function(np.array([0.0, 10.0]), np.zeros(2), 1.0, 1.0)
    assert 0 < never[0] < 0.01 and never[1] == 1.0  # a KP with frequency 0 stays choosable
    np.testing.assert_allclose(value_function(np.zeros(3), np.zeros(3), 0.7, 1.0), np.ones(3))


def test_walk_params_validation_and_settings() -> None:
    params = WalkParams.from_settings(WalkSettings(alpha=0.2, gamma=3.0), cross_discipline="prefer")
    assert (params.alpha, params.beta, params.gamma) == (0.2, 1.0, 3.0)
    assert (params.min_length, params.max_length, params.random_seed) == (3, 5, 20260801)
    assert params.cross_discipline == "prefer" and params.cross_bonus == 2.0
    for bad in ({"alpha": -1}, {"min_length": 0}, {"min_length": 4, "max_length": 3},
                {"cross_discipline": "sometimes"}, {"cross_bonus": 0}, {"max_attempts": 0}):
        with pytest.raises(ValueError):
            WalkParams(**bad)


# ------------------------------------------------------------------------------------- walks


def test_walks_are_deterministic_for_a_seed() -> None:
    g = _power_law_graph()
    params = WalkParams(random_seed=42)
    first = walk_paths(g, {"d": 60}, params)
    again = walk_paths(g, {"d": 60}, params)
    assert len(first.paths) == len(again.paths) == 60
    assert all(np.array_equal(a, b) for a, b in zip(first.paths, again.paths, strict=True))
    assert np.array_equal(first.visits, again.visits)
    other = walk_paths(g, {"d": 60}, WalkParams(random_seed=43))
    assert not all(np.array_equal(a, b) for a, b in zip(first.paths, other.paths, strict=True))


def test_paths_follow_edges_without_repeats_and_within_length() -> None:
    rng = np.random.default_rng(9)
    n = 120
    edges = {(min(a, b), max(a, b)) for a, b in rng.integers(0, n, size=(500, 2)) if a != b}
    edges |= {(i, i + 1) for i in range(n - 1)}
    g = _graph(n, [(a, b, float(rng.integers(1, 5))) for a, b in sorted(edges)], freq=rng.integers(1, 50, n).astype(float))
    params = WalkParams(min_length=3, max_length=6, random_seed=1)
    result = walk_paths(g, {"d": 400}, params)
    adjacency = {(a, b) for a, b in edges} | {(b, a) for a, b in edges}
    assert result.short_paths == 0
    for path in result.paths:
        assert path.dtype == np.int32
        assert params.min_length <= len(path) <= params.max_length
        assert len(set(path.tolist())) == len(path)  # no revisits, hence no backtracking
        assert all((int(a), int(b)) in adjacency for a, b in zip(path[:-1], path[1:], strict=True))


def test_quotas_are_met_exactly_and_interleaved() -> None:
    rng = np.random.default_rng(4)
    n = 90
    disc = ["a"] * 30 + ["b"] * 30 + ["c"] * 30
    edges = {(min(a, b), max(a, b)) for a, b in rng.integers(0, n, size=(400, 2)) if a != b}
    g = _graph(n, [(a, b, 1.0) for a, b in sorted(edges)], disc=disc)
    quotas = {"a": 7, "b": 0, "c": 13}
    result = walk_paths(g, quotas, WalkParams(random_seed=3))
    assert Counter(result.start_discipline) == {"a": 7, "c": 13}
    assert all(g.discipline_of(int(p[0])) == d for p, d in zip(result.paths, result.start_discipline, strict=True))
    assert set(result.start_discipline[:4]) == {"a", "c"}  # not all of one discipline first


def test_visits_are_copied_and_counted() -> None:
    g = _power_law_graph()
    before = np.arange(g.n_nodes, dtype=np.int64) % 3
    snapshot = before.copy()
    result = walk_paths(g, {"d": 50}, WalkParams(random_seed=8), visits=before)
    assert np.array_equal(before, snapshot)
    counted = np.bincount(np.concatenate(result.paths), minlength=g.n_nodes)
    assert np.array_equal(result.visits, snapshot + counted)


def test_step_probability_is_weight_pow_beta_times_value() -> None:
    leaf_freq, leaf_w = [1.0, 5.0, 20.0, 100.0], [4.0, 3.0, 2.0, 1.0]
    g = _star(leaf_freq, leaf_w)
    params = WalkParams(alpha=1.0, beta=2.0, gamma=0.0, min_length=2, max_length=2, random_seed=11)
    result = walk_paths(g, {"hub": 20000}, params)
    assert all(int(p[0]) == 0 for p in result.paths)
    observed = np.bincount([int(p[1]) for p in result.paths], minlength=5)[1:].astype(float)
    value = value_function(g.frequency, np.zeros(g.n_nodes), params.alpha, params.gamma)[1:]
    probs = np.array(leaf_w) ** params.beta * value
    assert _chi2(observed, probs) < CHI2_DF3_P001
    # and the exponent matters: the beta = 1 prediction is rejected by the same data
    assert _chi2(observed, np.array(leaf_w) * value) > CHI2_DF3_P001


def test_start_probability_is_value() -> None:
    # two separate edges; paths of one node are just the start draws
    g = _graph(4, [(0, 1, 1.0), (2, 3, 1.0)], freq=np.array([1.0, 3.0, 9.0, 27.0]))
    params = WalkParams(alpha=1.0, gamma=0.0, min_length=1, max_length=1, random_seed=5)
    result = walk_paths(g, {"d": 20000}, params)
    observed = np.bincount([int(p[0]) for p in result.paths], minlength=4).astype(float)
    probs = value_function(g.frequency, np.zeros(4), 1.0, 0.0)
    assert _chi2(observed, probs) < CHI2_DF3_P001


def test_visits_steer_away_from_covered_kps() -> None:
    g = _star([10.0] * 4, [1.0] * 4)
    params = WalkParams(alpha=0.0, beta=0.0, gamma=2.0, min_length=2, max_length=2, random_seed=2)
    # persisted counters from an earlier run: leaf 1 is heavily used
    result = walk_paths(g, {"hub": 300}, params, visits=np.array([0, 1000, 0, 0, 0]))
    new = result.visits - np.array([0, 1000, 0, 0, 0])
    assert new[1] <= 2 and new[2:].min() >= 90
    one_step = WalkParams(alpha=0.0, beta=0.0, min_length=2, max_length=2)

    # within a run, gamma > 0 spreads the leaves more evenly than gamma = 0 (the visit-count
    # variance, summed over seeds, is well below the multinomial one)
    def spread(gamma: float) -> float:
        return sum(
            float(np.var(walk_paths(g, {"hub": 300}, replace(one_step, gamma=gamma, random_seed=s)).visits[1:]))
            for s in range(10)
        )

    assert spread(2.0) < 0.5 * spread(0.0)


def test_value_walk_balances_coverage_better_than_plain_weighted_walk() -> None:
    g = _power_law_graph()
    budget = {"d": 150}
    value_walk = walk_paths(g, budget, WalkParams(alpha=0.5, beta=1.0, gamma=1.0, random_seed=7))
    plain_walk = walk_paths(g, budget, WalkParams(alpha=0.0, beta=1.0, gamma=0.0, random_seed=7))
    assert sum(map(len, value_walk.paths)) > 0.9 * sum(map(len, plain_walk.paths))  # same budget
    assert gini(value_walk.visits) < gini(plain_walk.visits) - 0.05
    assert np.count_nonzero(value_walk.visits) > np.count_nonzero(plain_walk.visits)


def test_enough_paths_visit_the_whole_component() -> None:
    g = _power_law_graph()
    assert len(np.unique(connected_components(g))) == 1
    result = walk_paths(g, {"d": 400}, WalkParams(alpha=0.5, beta=1.0, gamma=1.0, random_seed=1))
    assert np.all(result.visits > 0)


def _two_communities(seed: int = 3) -> CSRGraph:
    rng = np.random.default_rng(seed)
    n, half = 60, 30
    edges = set()
    for a in range(n):
        for b in range(a + 1, n):
            same = (a < half) == (b < half)
            if rng.random() < (0.3 if same else 0.05):
                edges.add((a, b))
    return _graph(n, [(a, b, 1.0) for a, b in sorted(edges)], disc=["a"] * half + ["b"] * half)


def _crossing_share(g: CSRGraph, paths: list[np.ndarray]) -> float:
    steps = [(int(a), int(b)) for p in paths for a, b in zip(p[:-1], p[1:], strict=True)]
    return sum(g.discipline[a] != g.discipline[b] for a, b in steps) / len(steps)


def test_cross_discipline_modes_are_measurable() -> None:
    g = _two_communities()
    quotas = {"a": 150, "b": 150}
    share = {
        mode: _crossing_share(
            g,
            walk_paths(
                g, quotas, WalkParams(min_length=4, max_length=6, cross_discipline=mode, cross_bonus=4.0, random_seed=6)
            ).paths,
        )
        for mode in ("avoid", "allow", "prefer")
    }
    assert share["avoid"] < 0.02
    assert share["avoid"] < share["allow"] < share["prefer"]
    assert share["prefer"] > 1.5 * share["allow"]


def test_avoid_crosses_when_nothing_else_is_left() -> None:
    # a0 - a1 - b0 - b1: from a1 (a0 already on the path) the only step is into b
    g = _graph(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0)], freq=np.array([9.0, 0.0, 1.0, 1.0]), disc=["a", "a", "b", "b"])
    result = walk_paths(g, {"a": 5}, WalkParams(alpha=1.0, min_length=4, max_length=4, cross_discipline="avoid", random_seed=0))
    assert any(p.tolist() == [0, 1, 2, 3] for p in result.paths)


def test_dead_ends_and_isolated_nodes() -> None:
    # a star cannot give 4 distinct nodes: every attempt is used, the longest (3) is kept
    g = _star([1.0] * 5, [1.0] * 5)
    params = WalkParams(min_length=4, max_length=5, random_seed=0, max_attempts=5)
    result = walk_paths(g, {"leaf": 6}, params)
    assert [len(p) for p in result.paths] == [3] * 6
    assert result.short_paths == 6 and result.attempts == [5] * 6

    # isolated nodes start walks only when their discipline has nothing else
    ids = ["iso_only", "iso_mixed", "m1", "m2", "m3"]
    g2 = CSRGraph.from_edges(ids, [1, 100, 1, 1, 1], ["solo", "mix", "mix", "mix", "mix"], (["m1", "m2"], ["m2", "m3"], [1, 1]))
    result2 = walk_paths(g2, {"solo": 3, "mix": 20}, WalkParams(random_seed=0))
    solo = [p for p, d in zip(result2.paths, result2.start_discipline, strict=True) if d == "solo"]
    assert [p.tolist() for p in solo] == [[0]] * 3
    mixed = [p for p, d in zip(result2.paths, result2.start_discipline, strict=True) if d == "mix"]
    assert all(1 not in p.tolist() for p in mixed)
    assert result2.short_paths == 3


def test_quota_for_unknown_discipline() -> None:
    g = _star([1.0], [1.0])
    with pytest.raises(ValueError, match="'chemistry'"):
        walk_paths(g, {"chemistry": 2}, WalkParams())
    assert len(walk_paths(g, {"chemistry": 0, "hub": 1}, WalkParams(min_length=2)).paths) == 1


# ----------------------------------------------------------- exactness of the fast sampler


def test_from_index_edges_equals_from_edges_and_validates() -> None:
    rng = np.random.default_rng(12)
    n = 40
    pairs = sorted({(int(min(a, b)), int(max(a, b))) for a, b in rng.integers(0, n, size=(120, 2)) if a != b})
    w = rng.integers(1, 6, len(pairs)).astype(float)
    ids = [f"n{i}" for i in range(n)]
    freq = rng.integers(0, 9, n).astype(float)
    by_name = CSRGraph.from_edges(ids, freq, ["d"] * n, ([ids[b] for _, b in pairs], [ids[a] for a, _ in pairs], w))
    src = np.array([a for a, _ in pairs], dtype=np.int32)
    dst = np.array([b for _, b in pairs], dtype=np.int32)
    by_index = CSRGraph.from_index_edges(ids, freq, np.zeros(n, dtype=np.int32), ("d",), src, dst, w.astype(np.float32))
    for name in ("indptr", "indices", "weights", "frequency", "discipline"):
        np.testing.assert_array_equal(getattr(by_index, name), getattr(by_name, name))
    zero = np.zeros(n, dtype=np.int32)
    with pytest.raises(ValueError, match="out of range"):
        CSRGraph.from_index_edges(ids, freq, zero, ("d",), [0], [n], [1.0])
    with pytest.raises(ValueError, match="self edge on node 'n3'"):
        CSRGraph.from_index_edges(ids, freq, zero, ("d",), [3], [3], [1.0])
    with pytest.raises(ValueError, match="'n2' - 'n7' given more than once"):
        CSRGraph.from_index_edges(ids, freq, zero, ("d",), [2, 7], [7, 2], [1.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        CSRGraph.from_index_edges(ids, freq, zero, ("d",), [2], [7], [np.nan])


@pytest.mark.parametrize("mode", CROSS_MODES)
def test_two_step_distribution_is_exact_in_every_cross_mode(mode: str) -> None:
    # a dense graph with two disciplines: the second step (from a random first node, the
    # start excluded) follows the definition, whatever the alias tables and rejections do
    rng = np.random.default_rng(21)
    n = 7
    edges = [(a, b, float(rng.integers(1, 6))) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.8]
    edges += [(0, b, 1.0) for b in range(1, n) if not any(e[:2] == (0, b) for e in edges)]
    g = _graph(n, edges, freq=rng.integers(1, 30, n).astype(float), disc=["x", "x", "x", "y", "y", "y", "y"])
    params = WalkParams(alpha=1.0, beta=1.5, gamma=0.0, min_length=3, max_length=3, cross_discipline=mode,
                        cross_bonus=3.0, random_seed=4)
    value = value_function(g.frequency, np.zeros(n), params.alpha, params.gamma)
    start_value = np.where(g.discipline == 0, value, 0.0)
    result = walk_paths(g, {"x": 12000}, params)
    observed = Counter((int(p[0]), int(p[1]), int(p[2])) for p in result.paths)
    expected = {}
    for s in range(n):
        if not start_value[s]:
            continue
        first = _reference_step(g, [s], value, params)
        for a in np.flatnonzero(first):
            second = _reference_step(g, [s, int(a)], value, params)
            for b in np.flatnonzero(second):
                expected[(s, int(a), int(b))] = start_value[s] / start_value.sum() * first[a] * second[b]
    assert set(observed) <= set(expected)
    keys = sorted(expected)
    stat = _chi2(np.array([observed[k] for k in keys], dtype=float), np.array([expected[k] for k in keys]))
    # chi-square, len(keys) - 1 degrees of freedom, p = 0.001 (seeded: a correctness bound)
    df = len(keys) - 1
    assert stat < df + 3.1 * np.sqrt(2 * df) + 10


@pytest.mark.parametrize("by_table", [False, True], ids=["scanned-hub", "alias-table-hub"])
def test_sequential_walks_follow_the_changing_value_function(by_table: bool, monkeypatch) -> None:
    # batch_size = 1: walk k steps from the hub ∝ w^β · V given the visits of walks 0..k-1.
    # A hub of degree <= SCAN_DEGREE is stepped by an exact scan; with SCAN_DEGREE = 0 it is
    # stepped by rejection against its alias table, and V changing by a factor up to 4 per
    # visit makes that table go stale and be rebuilt.
    if by_table:
        monkeypatch.setattr(walker, "SCAN_DEGREE", 0)
    leaf_w = [4.0, 3.0, 2.0, 1.0]
    g = _star([1.0, 5.0, 20.0, 100.0], leaf_w)
    params = WalkParams(alpha=1.0, beta=1.0, gamma=2.0, min_length=2, max_length=2, random_seed=3, batch_size=1)
    start_visits = np.array([0, 0, 3, 0, 9])
    result = walk_paths(g, {"hub": 3000}, params, visits=start_visits)
    assert (result.stats["node_table_rebuilds"] > 0) == by_table
    visits = start_visits.astype(float).copy()
    probs, outcomes = [], []
    for path in result.paths:
        v = value_function(g.frequency, visits, params.alpha, params.gamma)[1:]
        probs.append(np.array(leaf_w) ** params.beta * v / np.dot(np.array(leaf_w) ** params.beta, v))
        outcomes.append(int(path[1]) - 1)
        visits[path] += 1
    assert np.array_equal(result.visits, visits.astype(np.int64))
    assert _chi2_adaptive(outcomes, probs) < CHI2_DF3_P001

    # the same check rejects batches that freeze V for 300 walks: the test can see batching
    batched = walk_paths(g, {"hub": 3000}, replace(params, batch_size=300), visits=start_visits)
    visits = start_visits.astype(float).copy()
    probs, outcomes = [], []
    for path in batched.paths:
        v = value_function(g.frequency, visits, params.alpha, params.gamma)[1:]
        probs.append(np.array(leaf_w) * v / np.dot(leaf_w, v))
        outcomes.append(int(path[1]) - 1)
        visits[path] += 1
    assert _chi2_adaptive(outcomes, probs) > CHI2_DF3_P001


def test_sequential_starts_follow_the_changing_value_function() -> None:
    g = _graph(4, [(0, 1, 1.0), (2, 3, 1.0)], freq=np.array([1.0, 3.0, 9.0, 27.0]))
    params = WalkParams(alpha=1.0, gamma=1.5, min_length=1, max_length=1, random_seed=8, batch_size=1)
    result = walk_paths(g, {"d": 4000}, params)
    assert result.stats["pool_table_rebuilds"] > 0
    visits = np.zeros(4)
    probs, outcomes = [], []
    for path in result.paths:
        v = value_function(g.frequency, visits, params.alpha, params.gamma)
        probs.append(v / v.sum())
        outcomes.append(int(path[0]))
        visits[path] += 1
    assert _chi2_adaptive(outcomes, probs) < CHI2_DF3_P001


def test_same_seed_same_paths_on_one_or_two_threads() -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    g = _power_law_graph(n=1500, m=4000, seed=2)
    params = WalkParams(min_length=3, max_length=6, random_seed=99, batch_size=50)  # 50: partial groups too
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = walk_paths(g, {"d": 700}, params)
        numba.set_num_threads(2)
        two = walk_paths(g, {"d": 700}, params)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one.nodes, two.nodes) and np.array_equal(one.offsets, two.offsets)
    assert np.array_equal(one.visits, two.visits)
    assert one.stats["node_table_rebuilds"] == two.stats["node_table_rebuilds"]


def test_coverage_term_alone_evens_out_kp_usage() -> None:
    # same graph, popularity and budget; only gamma differs
    g = _power_law_graph(n=800, m=2500, seed=11)
    budget = {"d": 600}
    for seed in (1, 2):
        with_coverage = walk_paths(g, budget, WalkParams(alpha=0.5, gamma=1.0, random_seed=seed))
        without = walk_paths(g, budget, WalkParams(alpha=0.5, gamma=0.0, random_seed=seed))
        assert abs(with_coverage.steps - without.steps) < 0.05 * without.steps  # same budget
        assert gini(with_coverage.visits) < gini(without.visits) - 0.05
        assert np.count_nonzero(with_coverage.visits) > np.count_nonzero(without.visits)


def test_batches_keep_the_coverage_of_sequential_walks() -> None:
    # the documented batch effect: auto-sized batches cover like sequential walks
    g = _power_law_graph(n=3000, m=9000, seed=6)
    params = WalkParams(min_length=3, max_length=5, random_seed=5)
    assert auto_batch_size(g.n_nodes, params.max_length) == 9
    sequential = walk_paths(g, {"d": 1500}, replace(params, batch_size=1))
    auto = walk_paths(g, {"d": 1500}, params)
    frozen = walk_paths(g, {"d": 1500}, replace(params, batch_size=1500))  # V never updated in the run
    assert auto.batch_size == 9 and sequential.batch_size == 1
    assert abs(gini(auto.visits) - gini(sequential.visits)) < 0.01
    assert gini(frozen.visits) > gini(sequential.visits) + 0.02


def test_every_reachable_kp_is_visited_across_components() -> None:
    # two components of different disciplines, one too small for min_length, isolated nodes
    edges = [(i, i + 1, 1.0) for i in range(0, 39)] + [(i, 40 + (i * 7) % 40, 2.0) for i in range(0, 40, 3)]
    edges += [(i, i + 1, 1.0) for i in range(80, 119)] + [(120, 121, 1.0)]
    disc = ["a"] * 80 + ["b"] * 40 + ["b", "b", "b"]
    g = _graph(123, edges, freq=np.arange(123, dtype=float) % 17, disc=disc)
    result = walk_paths(g, {"a": 200, "b": 100}, WalkParams(random_seed=3))
    reachable = np.unique(np.concatenate([np.flatnonzero(connected_components(g) == c) for c in (0, 80)]))
    assert np.all(result.visits[reachable] > 0)
    assert np.all(result.visits[[120, 121, 122]] == 0)  # never a start while longer components exist
    assert Counter(result.start_discipline) == {"a": 200, "b": 100}


def test_large_quotas_are_met_exactly_per_discipline() -> None:
    g = _power_law_graph(n=2000, m=6000, seed=8)
    rng = np.random.default_rng(0)
    names = ["chemistry", "history", "law", "physics"]
    g = CSRGraph(node_ids=g.node_ids, indptr=g.indptr, indices=g.indices, weights=g.weights, frequency=g.frequency,
                 discipline=rng.integers(0, 4, g.n_nodes).astype(np.int32), discipline_names=tuple(names))
    quotas = quotas_from_distribution(5001, {"chemistry": 0.5, "history": 0.3, "law": 0.2}, names)
    result = walk_paths(g, quotas, WalkParams(random_seed=1, batch_size=64))
    assert Counter(result.start_discipline) == {d: q for d, q in quotas.items() if q}
    starts = g.discipline[result.nodes[result.offsets[:-1]]]
    assert all(g.discipline_names[c] == d for c, d in zip(starts.tolist(), result.start_discipline, strict=True))


def test_walk_result_arrays_and_views_agree() -> None:
    g = _power_law_graph()
    result = walk_paths(g, {"d": 40}, WalkParams(random_seed=2))
    assert len(result) == 40 and result.offsets[0] == 0 and result.offsets[-1] == result.nodes.size
    assert [p.tolist() for p in result.paths] == [
        result.nodes[a:b].tolist() for a, b in zip(result.offsets[:-1], result.offsets[1:], strict=True)]
    assert result.steps == result.nodes.size - 40
    assert {"setup_s", "walk_s", "node_table_rebuilds"} <= set(result.stats)
    assert popularity(g.frequency).max() == 1.0
