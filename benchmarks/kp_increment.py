"""What an increment of knowledge_points costs against a full run, in one process, without
Dagster or Neo4j. Prints JSON.

The KP mentions of N seeds come from ``benchmarks/scale.py``'s generator (Zipf-like KP
popularity, surface variants, 15% cross-discipline). A full run over (1 - delta) x N seeds
fills a DuckDB file; then delta x N held-out seeds (a random draw: every discipline) are
added to ``seed_kps`` and:

* ``full``: knowledge_points over all N seeds (``full_run``, as the asset does it: read the
  mentions, canonicalize, co-occurrence, write the four tables);
* ``increment``: ``increment`` + ``apply_delta`` + the write of knowledge_points;
* kp_graph's planning, without the Neo4j writes: the whole-table path (read links, edges,
  seeds; version sums; ``state_of``; ``diff`` against the state before) against the changes
  path (read kp_changes' rows and the new seeds; ``delta_of_changes``).

and checks that the increment's tables equal the full run's.

Usage: python benchmarks/kp_increment.py [--n 100000] [--delta 0.01] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import generate  # noqa: E402

from linksyn_dagster.core.graph_load import (  # noqa: E402
    GraphTables, delta_of_changes, diff, graph_sums, state_of, version_of)
from linksyn_dagster.core.kp_increment import MENTIONS, apply_delta, full_run, increment  # noqa: E402
from linksyn_dagster.queries import split_statements, sql  # noqa: E402

TABLES = {"knowledge_points": "kp_id", "seed_kp_links": "seed_id, kp_id", "kp_cooccurrence": "kp_a, kp_b",
          "kp_names": "kp_name", "kp_counts": "kp_id, kind, value"}


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, {"wall_s": round(time.perf_counter() - wall, 3), "cpu_s": round(time.process_time() - cpu, 3)}


def _mentions(n: int, work: Path) -> pl.DataFrame:
    generate(n, work)
    plan = pl.read_parquet(work / "kp_plan.parquet").explode("knowledge_points").unnest("knowledge_points")
    # the seed's discipline: its first KP's (85% of KPs are the seed discipline's own)
    return (plan.rename({"name": "kp_name", "discipline": "kp_discipline"})
            .with_columns(discipline=pl.col("kp_discipline").first().over("seed_id"),
                          kp_rank=pl.int_range(pl.len()).over("seed_id").cast(pl.Int32) + 1,
                          extracted_at=pl.lit(dt.datetime(2026, 12, 1)) + pl.duration(
                              seconds=pl.int_range(pl.len()) % 86_400)))


def _put(conn, table: str, frame: pl.DataFrame, replace: bool = True) -> None:
    conn.register("incoming", frame.to_arrow())
    if replace:
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming")
    else:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    conn.unregister("incoming")


def _full(conn) -> None:
    rows = conn.execute(MENTIONS).pl()
    kps, links, edges, names, counts = full_run(rows)
    for table, frame in (("knowledge_points", kps), ("seed_kp_links", links), ("kp_cooccurrence", edges),
                         ("kp_names", names), ("kp_counts", counts)):
        if table == "knowledge_points":
            _put(conn, table, frame)
        else:
            conn.execute(f"DELETE FROM {table}")
            _put(conn, table, frame, replace=False)


def _database(path: Path, mentions: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    for statement in split_statements(sql("schema")):
        conn.execute(statement)
    _put(conn, "seed_kps", mentions)
    seeds = mentions.select("seed_id", "discipline").unique("seed_id").with_columns(
        subject=pl.lit("general"), language=pl.lit("en"), question=pl.format("Question of {}", pl.col("seed_id")))
    _put(conn, "seed_qa", seeds)
    return conn


def _graph_tables(conn) -> GraphTables:
    return GraphTables(kps=conn.execute("SELECT * FROM knowledge_points").pl(),
                       links=conn.execute(sql("all_seed_kp_links")).pl(),
                       edges=conn.execute(sql("all_kp_cooccurrence")).pl(),
                       seeds=conn.execute(sql("seeds_with_kps")).pl())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--delta", type=float, default=0.01)
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="kp-increment-"))
    work.mkdir(parents=True, exist_ok=True)
    mentions = _mentions(args.n, work / "generated")
    seeds = mentions.get_column("seed_id").unique().sort()
    added = seeds.sample(fraction=args.delta, seed=3)
    before = mentions.filter(~pl.col("seed_id").is_in(added.implode()))
    new = mentions.filter(pl.col("seed_id").is_in(added.implode()))

    fresh = _database(work / "fresh.duckdb", mentions)
    _, full = _timed(lambda: _full(fresh))
    inc = _database(work / "increment.duckdb", before)
    _full(inc)
    graph_before = _graph_tables(inc)
    old_state = state_of(graph_before)
    old_sums = graph_sums(graph_before.kps, graph_before.links, graph_before.edges, graph_before.seeds)
    _put(inc, "seed_kps", new, replace=False)
    _put(inc, "seed_qa", new.select("seed_id", "discipline").unique("seed_id").with_columns(
        subject=pl.lit("general"), language=pl.lit("en"), question=pl.format("Question of {}", pl.col("seed_id"))),
        replace=False)

    def step():
        delta = increment(inc)
        apply_delta(inc, delta)
        _put(inc, "knowledge_points", delta.kps)
        return delta
    delta, incremental = _timed(step)
    equal = all(inc.execute(f"SELECT * FROM {t} ORDER BY {o}").pl().equals(
        fresh.execute(f"SELECT * FROM {t} ORDER BY {o}").pl()) for t, o in TABLES.items())

    def whole_table_plan():
        tables = _graph_tables(inc)
        version = version_of(graph_sums(tables.kps, tables.links, tables.edges, tables.seeds))
        return diff(old_state, tables, state_of(tables)), version

    def changes_plan():
        kps = inc.execute("SELECT * FROM knowledge_points").pl()
        wanted = delta.changes.filter(pl.col("kind") == "seed").select("seed_id")
        inc.register("wanted_seeds", wanted.to_arrow())
        seed_rows = inc.execute(sql("graph_seeds_of")).pl()
        graph_delta, sums = delta_of_changes(delta.changes, kps, seed_rows, old_sums)
        return graph_delta, version_of(sums)
    (whole_delta, whole_version), whole = _timed(whole_table_plan)
    (change_delta, change_version), changes = _timed(changes_plan)
    result = {
        "n": args.n, "delta": args.delta, "mentions": mentions.height, "new_seeds": delta.new_seeds,
        "knowledge_points": {"full": full, "increment": incremental,
                             "increment_vs_full_wall": round(incremental["wall_s"] / full["wall_s"], 4),
                             "changes": delta.counts()},
        "kp_graph_planning": {"whole_tables": whole, "changes": changes,
                              "changes_vs_whole_wall": round(changes["wall_s"] / whole["wall_s"], 4),
                              "same_version": whole_version == change_version,
                              "writes_whole": whole_delta.counts(), "writes_changes": change_delta.counts()},
        "equal_to_fresh_run": equal,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
