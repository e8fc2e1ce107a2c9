"""Many processes writing one warehouse at once: the candidates for the multi-writer warehouse.

``--writers`` processes each replace their own partition (``--rows`` rows) of one table,
``--repeat`` times, all starting at the same moment, as step pods of a backfill would; then
one process reads the whole table. Per candidate it prints (JSON) the wall seconds until every
writer is done, the rows written per second, the errors a writer met and retried (lock
errors, commit conflicts), the seconds to read the whole table, and whether every row is there
once.

- ``duckdb_file``: the single DuckDB file (the local default), writers retrying on lock errors;
- ``parquet_catalog``: LinkSyn's Parquet files per partition named by a Postgres catalog
  (``linksyn_dagster.resources.warehouse_catalog``);
- ``ducklake``: DuckLake, its catalog in Postgres, its Parquet files in a directory;
- ``postgres_ext``: DuckDB's postgres extension, the table in Postgres.

DuckLake and the postgres extension need the extension builds from PyPI, which exist for
duckdb 1.4.4 and not for the project's newer duckdb: they run in ``.venv-warehouse``
(``make bench-deps``), loading the extensions from those wheels, with no network install.
PostgreSQL is Debian's, started as ``linksyn stack`` and the tests start it (``services/postgres_server``).

    make bench-deps && .venv/bin/python benchmarks/warehouse_writers.py --writers 8 --rows 250000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OTHER_VENV = ROOT / ".venv-warehouse" / "bin" / "python"
CANDIDATES = ("duckdb_file", "parquet_catalog", "ducklake", "postgres_ext")
TABLE = "bench_rows"
MAX_RETRIES = 200


def _rows_sql(partition: str, rows: int) -> str:
    return (f"SELECT '{partition}' AS part, i AS n, 'row ' || i || ' of partition {partition}' AS text, "
            f"i * 0.5 AS value FROM range({rows}) t(i)")


def _duckdb_with_extensions():
    """A DuckDB connection that loads extensions from the duckdb-ext-* wheels only."""
    import duckdb

    spec = importlib.util.find_spec("duckdb_ext")
    directory = Path(list(spec.submodule_search_locations)[0]) / "extensions"
    return duckdb.connect(config={"extension_directory": str(directory), "autoinstall_known_extensions": False,
                                  "autoload_known_extensions": False})


def _libpq(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (f"dbname={parts.path.lstrip('/')} host={parts.hostname} port={parts.port} user={parts.username} "
            f"password={parts.password}")


def _open(candidate: str, url: str, directory: str):
    """(connection, table name) of the candidate; None for the Parquet catalog (not SQL)."""
    import duckdb

    if candidate == "duckdb_file":
        return duckdb.connect(str(Path(directory) / "w.duckdb")), TABLE
    if candidate == "ducklake":
        conn = _duckdb_with_extensions()
        conn.execute("LOAD ducklake")
        conn.execute("LOAD postgres")
        conn.execute(f"ATTACH 'ducklake:postgres:{_libpq(url)}' AS lake (DATA_PATH '{directory}/lake/')")
        return conn, f"lake.{TABLE}"
    if candidate == "postgres_ext":
        conn = _duckdb_with_extensions()
        conn.execute("LOAD postgres")
        conn.execute(f"ATTACH '{_libpq(url)}' AS pg (TYPE postgres)")
        return conn, f"pg.{TABLE}"
    return None, TABLE


def worker(candidate: str, url: str, directory: str, partition: str, rows: int, repeat: int, start_at: float) -> dict:
    """One writer: replace ``partition`` ``repeat`` times, retrying what fails; its errors."""
    errors: list[str] = []
    if candidate == "parquet_catalog":  # imported and warmed before the clock starts, as the others' duckdb is
        _warm_up()
    time.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    for _ in range(repeat):
        for attempt in range(MAX_RETRIES):
            try:
                _write(candidate, url, directory, partition, rows)
                break
            except Exception as exc:  # lock error or commit conflict: counted, retried
                errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{partition}: gave up after {MAX_RETRIES} attempts: {errors[-1]}")
    return {"seconds": time.perf_counter() - began, "errors": errors}


def _write(candidate: str, url: str, directory: str, partition: str, rows: int) -> None:
    if candidate == "parquet_catalog":
        import duckdb

        from linksyn_dagster.resources.warehouse_catalog import ParquetCatalog

        frame = duckdb.sql(_rows_sql(partition, rows)).pl()
        ParquetCatalog(url, directory).write_slice(TABLE, frame, "part", [partition])
        return
    conn, table = _open(candidate, url, directory)
    try:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {table} WHERE part = '{partition}'")
        conn.execute(f"INSERT INTO {table} {_rows_sql(partition, rows)}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def create(candidate: str, url: str, directory: str) -> None:
    """The empty table, made before the writers start (as a first materialization would)."""
    conn, table = _open(candidate, url, directory)
    if conn is not None:
        conn.execute(f"CREATE TABLE {table} AS {_rows_sql('none', 0)}")
        conn.close()


def _warm_up() -> None:
    """The imports and first-use set-up of LinkSyn's catalog (polars, pyarrow), as a step
    process has them before it writes: not counted."""
    import duckdb

    importlib.import_module("linksyn_dagster.resources.warehouse_catalog")
    duckdb.sql("SELECT 1 AS one").pl().to_arrow()


def read(candidate: str, url: str, directory: str) -> dict:
    """Read the whole table, every column, into memory (a DuckDB temp table: the same reader for
    every candidate); then count its rows and its distinct (part, n)."""
    if candidate == "parquet_catalog":
        _warm_up()
    began = time.perf_counter()
    if candidate == "parquet_catalog":
        from linksyn_dagster.resources.warehouse_catalog import ParquetCatalog

        with ParquetCatalog(url, directory).connect(TABLE) as conn:
            return _read_all(conn, TABLE, began)
    conn, table = _open(candidate, url, directory)
    try:
        return _read_all(conn, table, began)
    finally:
        conn.close()


def _read_all(conn, table: str, began: float) -> dict:
    conn.execute(f"CREATE TEMP TABLE whole AS SELECT * FROM {table}")
    seconds = time.perf_counter() - began
    rows, distinct = conn.execute("SELECT count(*), count(DISTINCT (part, n)) FROM whole").fetchone()
    return {"read_s": seconds, "rows": rows, "distinct": distinct}


def _python_for(candidate: str) -> str:
    return str(OTHER_VENV) if candidate in ("ducklake", "postgres_ext") else sys.executable


def _call(candidate: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([_python_for(candidate), __file__, "--as", candidate, *args],
                            stdout=subprocess.PIPE, text=True, env=env)


def _answer(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"a benchmark process failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def measure(candidate: str, server, writers: int, rows: int, repeat: int) -> dict:
    import psycopg

    database = f"bench_{candidate}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    url = server.url(database)
    directory = tempfile.mkdtemp(prefix=f"wh-{candidate}-")
    _answer(_call(candidate, "create", url, directory))
    start_at = time.time() + 5  # every writer has imported and connected by then
    procs = [_call(candidate, "write", url, directory, f"p{i:02d}", str(rows), str(repeat), str(start_at))
             for i in range(writers)]
    results = [_answer(proc) for proc in procs]
    wall = max(r["seconds"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    read_result = _answer(_call(candidate, "read", url, directory))
    return {"write_wall_s": round(wall, 2), "rows_per_s": round(writers * rows * repeat / wall),
            "retried_errors": len(errors), "first_error": errors[0] if errors else None,
            "read_s": round(read_result["read_s"], 2),
            "every_row_once": read_result["rows"] == read_result["distinct"] == writers * rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=250_000, help="rows per partition")
    parser.add_argument("--repeat", type=int, default=2, help="writes of each partition (the later ones replace)")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--as", dest="role", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.role:  # a writer, the creator or the reader, in its own process
        action, url, directory, *more = rest
        if action == "create":
            create(args.role, url, directory)
            result: dict = {}
        elif action == "read":
            result = read(args.role, url, directory)
        else:
            partition, rows, repeat, start_at = more
            result = worker(args.role, url, directory, partition, int(rows), int(repeat), float(start_at))
        print(json.dumps(result))
        return

    from linksyn_dagster.services import process
    from linksyn_dagster.services.postgres_server import LocalPostgres

    candidates = args.candidates.split(",")
    if {"ducklake", "postgres_ext"} & set(candidates) and not OTHER_VENV.exists():
        sys.exit("DuckLake and the postgres extension run in .venv-warehouse: make bench-deps")
    home = Path(tempfile.mkdtemp(prefix="linksyn-bench-pg-"))
    home.chmod(0o711)  # the server account (when we are root) enters it
    server = LocalPostgres(home / "cluster", process.free_port(), home / "password", fast=True)
    server.start()
    try:
        report = {"writers": args.writers, "rows_per_partition": args.rows, "repeat": args.repeat,
                  "cpus": os.cpu_count(),
                  **{c: measure(c, server, args.writers, args.rows, args.repeat) for c in candidates}}
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
