"""Loading the KP graph into Neo4j: our loader against ``neo4j-admin database import full``.

A KP graph is generated the way the pipeline builds one: seeds holding 3-6 KPs each (most
from a local neighbourhood of KP ids, a quarter from a Zipf-popular head, so there are
hubs), HAS_KP links, CO_OCCURS edges weighted by shared seeds (computed by the pipeline's
own ``cooccurrence_edges``), and IN_DISCIPLINE links. The seed count is chosen so the graph
has about ``--kps`` KP nodes and ``--edges`` CO_OCCURS edges.

Measured, each on a fresh local Neo4j (same version, heap and page cache):
- ``ours_full``: ``GraphLoader`` writing everything (constraints included) from one process;
- ``admin_import``: the same graph exported to CSV (timed: ``export_seconds``), then
  ``neo4j-admin database import full`` from the same Maven-fetched jars (timed), into a
  stopped server; its constraints are not created (that favours neo4j-admin);
- ``ours_incremental``: ``--delta`` (default 1%) new seeds added to the graph ours loaded,
  done as kp_graph does it: read the saved state (Arrow files), diff, load the delta, save
  the new state, after a server restart (which checkpoints the full load, as an idle
  server has by the next run); reported against the full load (which includes saving its state; target
  <= 0.05).
The headline ``rate_vs_admin`` is admin time / our time for the same graph (target >= 0.1).

Usage: python benchmarks/neo4j_load.py [--kps 1000000] [--edges 10000000] [--writers 1]
[--batch-size 5000] [--delta 0.01] [--heap 2g] [--pagecache 2g] [--skip-admin] [--no-rust-ext]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
if "--no-rust-ext" in sys.argv:  # the driver then packs in pure Python (it imports neo4j._rust if it can)
    sys.modules["neo4j._rust"] = None  # type: ignore[assignment]

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from neo4j import GraphDatabase  # noqa: E402
from neo4j._codec.packstream import v1 as packstream  # noqa: E402

from linksyn_dagster.core.cooccurrence import cooccurrence_edges  # noqa: E402
from linksyn_dagster.core.graph_load import GraphTables, diff, state_of  # noqa: E402
from linksyn_dagster.core.taxonomy import DISCIPLINES, display_name  # noqa: E402
from linksyn_dagster.queries import cypher  # noqa: E402
from linksyn_dagster.resources.graph_loader import GraphLoader, GraphStateStore  # noqa: E402
from linksyn_dagster.services.neo4j_server import ADMIN_TOOL, LocalNeo4j  # noqa: E402
from linksyn_dagster.services.process import free_port  # noqa: E402
from linksyn_dagster.settings import Neo4jSettings  # noqa: E402

PAIRS_PER_SEED = 7.26  # distinct CO_OCCURS edges per generated seed, measured at 1M KPs


def _log(message: str) -> None:
    print(f"[neo4j_load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# -- the generated graph --------------------------------------------------------------------


def seed_links(n_kps: int, n_seeds: int, first_seed: int, rng: np.random.Generator) -> pl.DataFrame:
    """(seed_id, kp_id, discipline) for ``n_seeds`` seeds numbered from ``first_seed``."""
    sizes = rng.integers(3, 7, n_seeds)
    seed = np.repeat(np.arange(first_seed, first_seed + n_seeds), sizes)
    centre = np.repeat(rng.integers(0, n_kps, n_seeds), sizes)
    local = (centre + rng.integers(-40, 41, len(seed))) % n_kps
    head = (rng.zipf(1.3, len(seed)) - 1) % n_kps
    kp = np.where(rng.random(len(seed)) < 0.25, head, local)
    links = pl.DataFrame({"s": seed, "k": kp}).unique()
    return links.select(
        pl.col("s").cast(pl.Utf8).str.zfill(16).alias("seed_id"),
        pl.concat_str(pl.lit("kp_"), pl.col("k").cast(pl.Utf8).str.zfill(16)).alias("kp_id"),
        pl.col("s").mod(len(DISCIPLINES)).alias("d"))


def tables_from_links(links: pl.DataFrame) -> GraphTables:
    names = pl.Series(DISCIPLINES)
    links = links.with_columns(discipline=names.gather(links.get_column("d")))
    seeds = (links.select("seed_id", "discipline").unique("seed_id")
             .with_columns(subject=pl.col("discipline"), language=pl.lit("en"),
                           question=pl.format("Which statement about {} is true for seed {}?",
                                              pl.col("discipline"), pl.col("seed_id")))
             .sort("seed_id"))
    kps = (links.group_by("kp_id")
           .agg(frequency=pl.len(), disciplines=pl.col("discipline").unique().sort(),
                primary_discipline=pl.col("discipline").mode().sort().first())
           .with_columns(name=pl.format("Knowledge point {}", pl.col("kp_id").str.slice(3)))
           .with_columns(aliases=pl.concat_list("name"))
           .sort("kp_id"))
    link_pairs = links.select("seed_id", "kp_id").sort("seed_id", "kp_id")
    return GraphTables(kps=kps, seeds=seeds, links=link_pairs, edges=cooccurrence_edges(link_pairs))


# -- the two loaders -------------------------------------------------------------------------


def fresh_server(root: Path, name: str, args: argparse.Namespace) -> LocalNeo4j:
    home = root / name
    shutil.rmtree(home, ignore_errors=True)
    return LocalNeo4j(home, version=Neo4jSettings().version, bolt_port=free_port(), http_port=free_port(),
                      heap=args.heap, pagecache=args.pagecache)


def counts(server: LocalNeo4j) -> dict[str, int]:
    """Neo4j's counts, by the query kp_graph checks itself with (sql/cypher/graph_counts)."""
    with GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
        return dict(driver.execute_query(cypher("graph_counts")).records[0])


def expected_counts(tables: GraphTables, kp_disciplines: int) -> dict[str, int]:
    return {"knowledge_points": tables.kps.height, "seeds": tables.seeds.height, "disciplines": len(DISCIPLINES),
            "co_occurs": tables.edges.height, "has_kp": tables.links.height, "in_discipline": kp_disciplines}


def run_admin(server: LocalNeo4j, tables: GraphTables, kp_disciplines: pl.DataFrame, args: argparse.Namespace) -> dict:
    csv = server.home / "import"
    csv.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    join = lambda column: pl.col(column).list.join(";")  # noqa: E731  (neo4j-admin's array delimiter)
    tables.kps.select(pl.col("kp_id").alias("kp_id:ID(KP)"), "name", pl.col("frequency").alias("frequency:long"),
                      join("disciplines").alias("disciplines:string[]"), "primary_discipline",
                      join("aliases").alias("aliases:string[]")).write_csv(csv / "kps.csv")
    tables.seeds.rename({"seed_id": "seed_id:ID(Seed)"}).write_csv(csv / "seeds.csv")
    pl.DataFrame({"name:ID(Discipline)": list(DISCIPLINES),
                  "display_name": [display_name(d) for d in DISCIPLINES]}).write_csv(csv / "disciplines.csv")
    tables.links.rename({"seed_id": ":START_ID(Seed)", "kp_id": ":END_ID(KP)"}).write_csv(csv / "has_kp.csv")
    tables.edges.rename({"kp_a": ":START_ID(KP)", "kp_b": ":END_ID(KP)", "weight": "weight:long"}).write_csv(
        csv / "co_occurs.csv")
    kp_disciplines.rename({"kp_id": ":START_ID(KP)", "discipline": ":END_ID(Discipline)"}).write_csv(
        csv / "in_discipline.csv")
    export = time.perf_counter() - began

    server._write_conf()  # the import reads the server's config (directories, page cache)
    lib = server.fetch_jars()
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.conf_dir)}
    cmd = [shutil.which("java") or "java", f"-Xmx{args.heap}", "-cp", f"{lib}/*", ADMIN_TOOL,
           "database", "import", "full", "neo4j", "--overwrite-destination=true", f"--threads={os.cpu_count()}",
           f"--report-file={server.home / 'import.report'}",
           f"--nodes=KnowledgePoint={csv / 'kps.csv'}", f"--nodes=Seed={csv / 'seeds.csv'}",
           f"--nodes=Discipline={csv / 'disciplines.csv'}",
           f"--relationships=HAS_KP={csv / 'has_kp.csv'}", f"--relationships=CO_OCCURS={csv / 'co_occurs.csv'}",
           f"--relationships=IN_DISCIPLINE={csv / 'in_discipline.csv'}"]
    began = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    imported = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"neo4j-admin import failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
    server.start(timeout=600)
    try:
        got = counts(server)
    finally:
        server.stop()
    return {"export_seconds": round(export, 2), "import_seconds": round(imported, 2),
            "seconds": round(export + imported, 2), "counts": got}


def run_ours(server: LocalNeo4j, tables: GraphTables, warm: GraphTables, grown: GraphTables,
             args: argparse.Namespace) -> dict:
    """The full load, then the incremental one, each as kp_graph does it: read the saved
    state, diff, load, save the new state. Between the two the server restarts (as between
    two runs it would have checkpointed) and takes one small untimed incremental load
    (``warm``), as a long-running server has compiled its hot paths, so the timed one pays
    neither for the full load's checkpoint nor for a cold JIT."""
    states = GraphStateStore(server.home / "graph_state")
    server.start(timeout=600)
    try:
        with GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
            loader = GraphLoader(driver, "neo4j", batch_size=args.batch_size, writers=args.writers, log=_log)
            began = time.perf_counter()
            full = loader.load(diff(None, tables), "v1", full=True)
            saved = time.perf_counter()
            states.write("v1", state_of(tables))
            full_seconds = time.perf_counter() - began
            full_state_seconds = time.perf_counter() - saved
        full_counts = counts(server)
        _log(f"ours full: {full_seconds:.1f} s; {full_counts}")
        server.stop()
        os.sync()
        gc.collect()
        server.start(timeout=600)

        with GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
            loader = GraphLoader(driver, "neo4j", batch_size=args.batch_size, writers=args.writers, log=_log)
            warm_state = state_of(warm)
            loader.load(diff(states.read("v1"), warm, warm_state), "v1w", full=False)
            states.write("v1w", warm_state)
            del warm_state
            gc.collect()
            timings = {}
            began = time.perf_counter()
            state = states.read(states.version() or "")
            timings["read_state_seconds"] = time.perf_counter() - began
            began = time.perf_counter()
            grown_state = state_of(grown)
            delta = diff(state, grown, grown_state)
            timings["diff_seconds"] = time.perf_counter() - began
            began = time.perf_counter()
            with ThreadPoolExecutor(1) as background:  # as kp_graph: the state is written during the load
                staged = background.submit(states.stage, "v2", grown_state)
                incremental = loader.load(delta, "v2", full=False)
                states.commit(staged.result(), "v2")
            timings["load_and_state_seconds"] = time.perf_counter() - began
        grown_counts = counts(server)
        saved_ok = states.version() == "v2" and states.read("v2").edges.height == grown.edges.height
    finally:
        server.stop()
    return {
        "full": {"seconds": round(full_seconds, 2), "state_seconds": round(full_state_seconds, 2),
                 "steps": full.seconds, "rows": full.rows, "counts": full_counts},
        "incremental": {"seconds": round(sum(timings.values()), 2), **{k: round(v, 2) for k, v in timings.items()},
                        "neo4j_seconds": incremental.seconds["total"], "steps": incremental.seconds, "rows": delta.counts(), "counts": grown_counts,
                        "saved_state_matches": saved_ok},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kps", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--delta", type=float, default=0.01, help="new seeds, as a share of the seeds")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="2g")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-admin", action="store_true")
    parser.add_argument("--no-rust-ext", action="store_true", help="block neo4j-rust-ext (pure-Python packing)")
    parser.add_argument("--work-dir", help="where the servers live (default: a temporary directory)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n_seeds = int(args.edges / PAIRS_PER_SEED)
    began = time.perf_counter()
    links = seed_links(args.kps, n_seeds, 0, rng)
    tables = tables_from_links(links)
    warm_extra = seed_links(args.kps, max(1, int(n_seeds * 0.001)), n_seeds, rng)
    extra = seed_links(args.kps, max(1, int(n_seeds * args.delta)), n_seeds + len(warm_extra) + 1, rng)
    warm = tables_from_links(pl.concat([links, warm_extra]))
    grown = tables_from_links(pl.concat([links, warm_extra, extra]))
    kp_disciplines = diff(None, tables).kp_disciplines
    _log(f"generated in {time.perf_counter() - began:.0f} s: {tables.kps.height} KPs, {tables.seeds.height} seeds, "
         f"{tables.links.height} HAS_KP, {tables.edges.height} CO_OCCURS; +{extra.get_column('seed_id').n_unique()} seeds")

    root = Path(args.work_dir or tempfile.mkdtemp(prefix="linksyn-neo4j-load-"))
    try:
        ours = run_ours(fresh_server(root, "ours", args), tables, warm, grown, args)
        admin = None if args.skip_admin else run_admin(fresh_server(root, "admin", args), tables, kp_disciplines, args)
    finally:
        if not args.work_dir:
            shutil.rmtree(root, ignore_errors=True)

    expected = expected_counts(tables, kp_disciplines.height)
    result = {
        "benchmark": "neo4j_load",
        "machine": {"cpus": os.cpu_count()},
        "neo4j": {"version": Neo4jSettings().version, "heap": args.heap, "pagecache": args.pagecache},
        "graph": expected,
        "relationships": sum(v for k, v in expected.items() if k in ("co_occurs", "has_kp", "in_discipline")),
        "writers": args.writers, "batch_size": args.batch_size,
        "neo4j_rust_ext": packstream._rust_pack is not None,
        "client_cpu_seconds": round(sum(os.times()[:2]), 1),
        "ours_full": ours["full"],
        "ours_incremental": ours["incremental"],
        "admin_import": admin,
        "counts_match": ours["full"]["counts"] == expected and (admin is None or admin["counts"] == expected)
        and ours["incremental"]["counts"] == expected_counts(grown, diff(None, grown).kp_disciplines.height)
        and ours["incremental"]["saved_state_matches"],
        "peak_rss_mb": _peak_rss_mb(),
    }
    full_s = ours["full"]["seconds"]
    result["incremental_vs_full"] = round(ours["incremental"]["seconds"] / full_s, 4)
    result["incremental_target_met"] = result["incremental_vs_full"] <= 0.05
    if admin:
        result["rate_vs_admin"] = round(admin["seconds"] / full_s, 3)
        result["rate_target_met"] = result["rate_vs_admin"] >= 0.1
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
