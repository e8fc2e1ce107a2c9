"""Walker benchmark: our value-function walker against PecanPy on one power-law graph. Prints JSON.

The graph: a Chung–Lu co-occurrence graph, 1M KP nodes and 10M distinct weighted edges by
default (endpoints drawn ∝ Pareto(2) fitness, so degrees have a power-law tail; weight =
times a pair was drawn plus a Zipf(2.2) extra; frequency = weighted degree; 20 disciplines
at random). It is generated once, saved as CSR arrays to a temporary .npz, and every side
runs in its own process on those very arrays, with NUMBA_NUM_THREADS=--threads:

  pecanpy_sparse_otf   PecanPy SparseOTF, p = q = 1 (first order, transitions on the fly)
  pecanpy_precomp      PecanPy PreCompFirstOrder (static alias tables, no value function)
  ours_value           LinkSyn walk_paths with the value function on (α 0.5, β 1, γ 1)
  ours_plain           LinkSyn walk_paths with the value function off (α = γ = 0: ∝ w)
  ours_value_sequential  ours_value with batch_size = 1 (every walk sees the visits of all
                       walks before it): the reference for the coverage (Gini) of batching

Same number of walks (one per node by default) and the same length (--length nodes per
walk, i.e. --length - 1 steps; PecanPy's walk_length is set to --length - 1). Only the
walk generation is timed for steps/s; loading the arrays, setup (alias tables; numba
compilation for PecanPy's closures) and a warm-up call are reported separately. Steps are
the edges of the returned walks (for us: of the kept paths; walks are self-avoiding and
a path shorter than min_length = 3 is redrawn, and that extra work is not counted).
PecanPy's walks go through its own numba kernel (Base._random_walks) exactly as
simulate_walks calls it, minus the final conversion of node indices to id strings. Peak
memory is each process's VmHWM. PecanPy pins numpy < 2, so it runs with the
interpreter of .venv-pecanpy (make bench-deps).

Usage: .venv/bin/python benchmarks/walker.py [--nodes 1000000] [--edges 10000000]
[--walks N] [--length 10] [--threads 2] [--repeat 1] [--batch-size 0] [--sides all]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PECANPY_PYTHON = ROOT / ".venv-pecanpy" / "bin" / "python"
SIDES = ("pecanpy_sparse_otf", "pecanpy_precomp", "ours_value", "ours_plain", "ours_value_sequential")
DISCIPLINES = 20


def _log(message: str) -> None:
    print(f"[walker bench] {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over an exec, so a child would report its parent's peak (the graph generation's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------ graph


def power_law_pairs(n: int, m: int, seed: int, shape: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` distinct undirected pairs (a < b) with weights: endpoints drawn ∝ fitness
    (Pareto(shape) + 1) until ``m`` distinct pairs exist, then ``m`` of them kept at random."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(rng.pareto(shape, n) + 1.0)
    cum /= cum[-1]
    keys = np.zeros(0, dtype=np.int64)
    counts = np.zeros(0, dtype=np.int64)
    draw = int(m * 1.2)
    while keys.size < m:
        a = np.minimum(np.searchsorted(cum, rng.random(draw), side="right"), n - 1)
        b = np.minimum(np.searchsorted(cum, rng.random(draw), side="right"), n - 1)
        keep = a != b
        new = np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep])
        merged, merged_counts = np.unique(np.concatenate([keys, new]), return_counts=True)
        if keys.size:  # old keys carry their counts
            merged_counts[np.searchsorted(merged, keys)] += counts - 1
        keys, counts = merged, merged_counts
        draw = int((m - keys.size) * 1.5) + 10_000
    pick = np.sort(rng.choice(keys.size, m, replace=False))
    keys, counts = keys[pick], counts[pick]
    weights = counts + np.minimum(rng.zipf(2.2, m) - 1, 1000)
    return (keys // n).astype(np.int32), (keys % n).astype(np.int32), weights.astype(np.float32)


def generate(path: Path, n: int, m: int, seed: int) -> dict:
    from linksyn_dagster.core.walker import CSRGraph

    began = time.perf_counter()
    a, b, w = power_law_pairs(n, m, seed)
    strength = np.bincount(a, w, n) + np.bincount(b, w, n)
    discipline = np.random.default_rng(seed + 1).integers(0, DISCIPLINES, n).astype(np.int32)
    names = tuple(f"d{k:02d}" for k in range(DISCIPLINES))
    graph = CSRGraph.from_index_edges(np.arange(n).astype(str).astype(object), strength, discipline, names, a, b, w)
    del a, b, w
    np.savez(path, indptr=graph.indptr, indices=graph.indices, weights=graph.weights, frequency=graph.frequency,
             discipline=graph.discipline)
    degree = graph.degree
    return {"nodes": n, "edges": graph.n_edges, "directed_entries": int(graph.indices.size),
            "max_degree": int(degree.max()), "median_degree": float(np.median(degree)),
            "isolated_nodes": int(np.count_nonzero(degree == 0)), "max_weight": float(graph.weights.max()),
            "disciplines": DISCIPLINES, "generate_s": round(time.perf_counter() - began, 2),
            "csr_file_mb": round(path.stat().st_size / 2**20, 1)}


# ------------------------------------------------------------------------- child processes


def run_pecanpy(args: argparse.Namespace) -> dict:
    from numba_progress import ProgressBar
    from pecanpy import pecanpy as p2v

    began = time.perf_counter()
    data = np.load(args.graph)
    n = data["indptr"].size - 1
    walker = {"pecanpy_sparse_otf": p2v.SparseOTF, "pecanpy_precomp": p2v.PreCompFirstOrder}[args.side](
        p=1, q=1, workers=args.threads, random_state=args.seed)
    walker.indptr = data["indptr"].astype(np.uint32)
    walker.indices = data["indices"].astype(np.uint32)
    walker.data = data["weights"].astype(np.float32)
    walker.set_node_ids(None, implicit_ids=True, num_nodes=n)
    loaded = time.perf_counter()
    walker._preprocess_transition_probs()  # PreComp: alias tables (and their numba compilation)
    move_forward, has_nbrs = walker.get_move_forward(), walker.get_has_nbrs()
    prepared = time.perf_counter()
    # as simulate_walks: every node num_walks times, shuffled for balance
    starts = np.concatenate([np.arange(n, dtype=np.uint32)] * -(-args.walks // n))[: args.walks]
    np.random.seed(args.seed)
    np.random.shuffle(starts)
    with ProgressBar(total=1000, disable=True) as progress:  # compiles the walk kernel
        walker._random_walks(1000, args.length - 1, args.seed, starts[:1000], has_nbrs, move_forward, progress)
    warmed = time.perf_counter()
    times, steps = [], 0
    for _ in range(args.repeat):
        with ProgressBar(total=starts.size, disable=True) as progress:
            t0 = time.perf_counter()
            walks = walker._random_walks(starts.size, args.length - 1, args.seed, starts, has_nbrs, move_forward,
                                         progress)
            times.append(time.perf_counter() - t0)
        steps = int((walks[:, -1].astype(np.int64) - 1).sum())  # last column: nodes in the walk
        del walks
    return {"walks": int(starts.size), "steps": steps, "load_s": loaded - began, "setup_s": prepared - loaded,
            "warmup_s": warmed - prepared, "walk_s": times}


def run_ours(args: argparse.Namespace) -> dict:
    from linksyn_dagster.core.metrics import gini
    from linksyn_dagster.core.quotas import quotas_from_distribution
    from linksyn_dagster.core.walker import CSRGraph, WalkParams, walk_paths

    began = time.perf_counter()
    data = np.load(args.graph)
    n = data["indptr"].size - 1
    graph = CSRGraph(node_ids=np.arange(n).astype(str).astype(object), indptr=data["indptr"],
                     indices=data["indices"], weights=data["weights"], frequency=data["frequency"],
                     discipline=data["discipline"], discipline_names=tuple(f"d{k:02d}" for k in range(DISCIPLINES)))
    loaded = time.perf_counter()
    value_on = args.side != "ours_plain"
    params = WalkParams(alpha=0.5 if value_on else 0.0, beta=1.0, gamma=1.0 if value_on else 0.0, min_length=3,
                        max_length=args.length, random_seed=args.seed,
                        batch_size=1 if args.side == "ours_value_sequential" else args.batch_size)
    # warm-up on a small graph: numba loads (or first compiles) the cached kernels
    tiny = CSRGraph.from_index_edges(np.arange(50).astype(str).astype(object), np.ones(50),
                                     np.zeros(50, dtype=np.int32), ("d00",), np.arange(49), np.arange(1, 50),
                                     np.ones(49))
    walk_paths(tiny, {"d00": 100}, params)
    warmed = time.perf_counter()
    quotas = quotas_from_distribution(args.walks, {}, graph.discipline_names)
    times, setups, result = [], [], None
    for _ in range(args.repeat):
        del result
        result = walk_paths(graph, quotas, params)
        times.append(result.stats["walk_s"])
        setups.append(result.stats["setup_s"])
    visits = result.visits
    return {"walks": len(result), "steps": result.steps, "load_s": loaded - began, "setup_s": setups[0],
            "warmup_s": warmed - loaded, "walk_s": times, "batch_size": result.batch_size,
            "node_table_rebuilds": result.stats["node_table_rebuilds"], "short_paths": result.short_paths,
            "visit_gini": round(gini(visits), 4), "kps_visited": round(float(np.mean(visits > 0)), 4)}


def child(args: argparse.Namespace) -> None:
    result = run_pecanpy(args) if args.side.startswith("pecanpy") else run_ours(args)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    print(json.dumps(result))


# ---------------------------------------------------------------------------------- driver


def _machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def run_side(side: str, graph: Path, args: argparse.Namespace) -> dict:
    python = PECANPY_PYTHON if side.startswith("pecanpy") else Path(sys.executable)
    if not python.exists():
        raise SystemExit(f"{python} not found: run `make bench-deps` first")
    command = [str(python), __file__, "--child", side, "--graph", str(graph), "--walks", str(args.walks),
               "--length", str(args.length), "--threads", str(args.threads), "--seed", str(args.seed),
               "--repeat", str(args.repeat), "--batch-size", str(args.batch_size)]
    env = {**os.environ, "NUMBA_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    load_before = os.getloadavg()[0]
    _log(f"{side} ...")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    median = float(np.median(result["walk_s"]))
    result.update({
        "steps_per_s": round(result["steps"] / median),
        "walk_s": [round(t, 3) for t in result["walk_s"]],
        **{k: round(result[k], 3) for k in ("load_s", "setup_s", "warmup_s")},
        "load_average_1m_before": round(load_before, 2),
    })
    _log(f"{side}: {result['steps_per_s'] / 1e6:.2f}M steps/s, peak {result['peak_rss_mb']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--walks", type=int, default=0, help="walks per side (default: one per node)")
    parser.add_argument("--length", type=int, default=10, help="nodes per walk (steps + 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="timed walk runs per side (the median is reported)")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="batch_size of ours_value and ours_plain (0 = auto, as the pipeline runs)")
    parser.add_argument("--sides", default="all", help=f"comma-separated subset of {','.join(SIDES)}")
    parser.add_argument("--child", choices=SIDES, dest="side", help=argparse.SUPPRESS)
    parser.add_argument("--graph", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.walks = args.walks or args.nodes
    if args.side:
        child(args)
        return

    sides = SIDES if args.sides == "all" else tuple(s for s in SIDES if s in args.sides.split(","))
    with tempfile.TemporaryDirectory(prefix="linksyn-walker-bench-") as tmp:
        graph_file = Path(tmp) / "graph.npz"
        _log(f"generating {args.nodes} nodes, {args.edges} edges ...")
        graph = generate(graph_file, args.nodes, args.edges, args.seed)
        results = {side: run_side(side, graph_file, args) for side in sides}

    rate = {side: r["steps_per_s"] for side, r in results.items()}
    ratios, targets = {}, {}
    if {"ours_value", "pecanpy_sparse_otf"} <= rate.keys():
        ratios["value_over_sparse_otf"] = round(rate["ours_value"] / rate["pecanpy_sparse_otf"], 2)
        targets["value_walker_at_least_1x_sparse_otf"] = ratios["value_over_sparse_otf"] >= 1.0
    if {"ours_value", "pecanpy_precomp"} <= rate.keys():
        ratios["value_over_precomp"] = round(rate["ours_value"] / rate["pecanpy_precomp"], 2)
        targets["stretch_value_walker_at_least_0.8x_precomp"] = ratios["value_over_precomp"] >= 0.8
    if {"ours_plain", "pecanpy_precomp"} <= rate.keys():
        ratios["plain_over_precomp"] = round(rate["ours_plain"] / rate["pecanpy_precomp"], 2)
    if {"ours_value", "ours_value_sequential"} <= rate.keys():
        ratios["batched_over_sequential"] = round(rate["ours_value"] / rate["ours_value_sequential"], 2)
    if "ours_value" in rate:
        targets["value_walker_at_least_1M_steps_per_s"] = rate["ours_value"] >= 1_000_000
        targets["value_walker_peak_below_4GB"] = results["ours_value"]["peak_rss_mb"] < 4096
    print(json.dumps({
        "machine": _machine(),
        "settings": {"walks": args.walks, "nodes_per_walk": args.length, "threads": args.threads,
                     "batch_size": args.batch_size,
                     "seed": args.seed, "repeat": args.repeat},
        "graph": graph,
        "sides": results,
        "ratios": ratios,
        "targets_met": targets,
        "driver_peak_rss_mb": round(_peak_rss_mb(), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
