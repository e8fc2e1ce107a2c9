"""The warehouse many processes can write: one Parquet file per slice, a catalog in Postgres
(``LINKSYN_WAREHOUSE__CATALOG_URL``).

A slice is what one write replaces: one partition of an asset (``{"discipline": "physics"}``),
the rows a side table keeps for one writer (``{"stage": ..., "partition_key": ...}``), or the
whole table (``{}``). A write puts each slice's rows in a new Parquet file of its own under
``files_dir`` (never one another process writes), then swaps the catalog's rows for those
slices in one Postgres transaction; readers see the files the catalog names when they open a
connection, as DuckDB views (``read_parquet``, columns unified by name, so a file written before
a column existed reads as NULL there). Writers of different slices never wait for each other,
a killed writer leaves at most an unnamed file behind, and nothing takes a file lock, which a
shared network volume would not honour. Replaced files are deleted once no reader that saw
them can still be reading (``GRACE_S``). README "A warehouse many processes write" says why
this and not DuckLake or DuckDB's postgres extension, with measurements.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb
import polars as pl
import psycopg

from linksyn_dagster.queries import select_slice, split_statements, sql
from linksyn_dagster.settings import masked_url

SETTING = "LINKSYN_WAREHOUSE__CATALOG_URL"
CONNECT_TIMEOUT_S = 5
GRACE_S = 3600.0  # a replaced file is deleted this long after: longer than any reader holds a snapshot

_SCHEMA = """
CREATE TABLE IF NOT EXISTS warehouse_files (
    table_name TEXT NOT NULL,
    slice TEXT NOT NULL,
    file TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    written_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (table_name, slice)
);
CREATE TABLE IF NOT EXISTS warehouse_replaced (
    file TEXT PRIMARY KEY,
    replaced_at DOUBLE PRECISION NOT NULL
);
"""
_SCHEMA_LOCK = 0x4C4B5748  # "LKWH": CREATE TABLE IF NOT EXISTS is not safe against itself in Postgres


class WarehouseUnavailable(RuntimeError):
    """The catalog's Postgres server cannot be reached or the URL is not a Postgres URL."""


def _slice_key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


class ParquetCatalog:
    """Parquet files per slice under ``files_dir``, named by a catalog in the Postgres database
    at ``url``. Same methods and results as the single DuckDB file (``warehouse.DuckDBFile``)."""

    def __init__(self, url: str, files_dir: str | Path):
        if not url.startswith(("postgresql://", "postgres://")):
            raise WarehouseUnavailable(f"{SETTING}={masked_url(url)} is not a Postgres URL: write it as "
                                       "postgresql://user:password@host:port/database, or unset it to keep the "
                                       "warehouse in the DuckDB file under the data directory")
        self.url = url
        self.files_dir = Path(files_dir)
        with self._catalog() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    @contextmanager
    def _catalog(self) -> Iterator[psycopg.Connection]:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise WarehouseUnavailable(
                f"{SETTING}={masked_url(self.url)} does not answer ({reason}): start that Postgres server, fix "
                "the URL, or unset it to keep the warehouse in the DuckDB file under the data directory") from None
        with conn:
            yield conn

    # reading -------------------------------------------------------------------------------

    def _files(self, tables: set[str] | None = None) -> dict[str, list[str]]:
        """The catalog's files per table (of ``tables`` only, when given), as absolute paths."""
        with self._catalog() as conn:
            rows = conn.execute("SELECT table_name, file FROM warehouse_files ORDER BY table_name, slice").fetchall()
        files: dict[str, list[str]] = {}
        for table, file in rows:
            if tables is None or table in tables:
                files.setdefault(table, []).append(str(self.files_dir / file))
        return files

    @contextmanager
    def connect(self, statement: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection where every table is a view of its files as the
        catalog names them now (the side tables of ``schema.sql`` empty until written);
        with ``statement``, only the tables it names are set up."""
        conn = duckdb.connect()
        try:
            create_side_tables(conn)
            named = None if statement is None else set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", statement))
            for table, files in self._files(named).items():
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                # the view built from a relation: no file name is spliced into SQL text
                conn.read_parquet([str(file) for file in files], union_by_name=True).create_view(table)
            yield conn
        finally:
            conn.close()

    def read_slice(self, table: str, column: str | None, keys: list[str],
                   columns: list[str] | None = None) -> pl.DataFrame | None:
        if table not in self._files({table}):
            return None
        with self.connect(table) as conn:
            return select_slice(conn, table, column, keys, columns)

    # writing -------------------------------------------------------------------------------

    def write_slice(self, table: str, df: pl.DataFrame, column: str | None, keys: list[str]) -> None:
        if column is None:
            self._write(table, {_slice_key({}): df}, whole=True)
            return
        outside = df.filter(~pl.col(column).cast(pl.Utf8).is_in([str(k) for k in keys]))
        if outside.height:
            raise ValueError(f"{table}: {outside.height} rows have a {column} outside the partitions written "
                             f"({', '.join(map(str, keys))})")
        self._write(table, {_slice_key({column: key}): df.filter(pl.col(column).cast(pl.Utf8) == str(key))
                            for key in keys}, whole=False)

    def replace(self, table: str, df: pl.DataFrame, **where: Any) -> None:
        """The side table's rows of the slice ``where`` (all of them if empty), typed as
        ``schema.sql`` declares the table."""
        self._write(table, {_slice_key(where): df}, whole=not where, declared=True)

    def replace_each(self, frames: Mapping[str, pl.DataFrame], **where: Any) -> None:
        for table, df in frames.items():
            self.replace(table, df, **where)

    def _write(self, table: str, slices: dict[str, pl.DataFrame], whole: bool, declared: bool = False) -> None:
        directory = self.files_dir / table
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, tuple[str, int]] = {}
        with duckdb.connect() as conn:
            if declared:
                create_side_tables(conn)
            for key, frame in slices.items():
                name = f"{table}/{uuid.uuid4().hex}.parquet"
                conn.register("incoming", frame.to_arrow())
                if declared:  # through the declared table: its column types and NOT NULLs
                    columns = ", ".join(frame.columns)
                    conn.execute(f"DELETE FROM {table}")
                    conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
                    conn.table(table).write_parquet(str(self.files_dir / name))
                else:
                    conn.table("incoming").write_parquet(str(self.files_dir / name))
                conn.unregister("incoming")
                written[key] = (name, frame.height)
        now = time.time()
        with self._catalog() as conn, conn.transaction():
            # one writer of a table's catalog rows at a time: milliseconds, the files are already written
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"linksyn-warehouse:{table}",))
            if whole:
                replaced = conn.execute("DELETE FROM warehouse_files WHERE table_name = %s RETURNING file",
                                        (table,)).fetchall()
            else:
                replaced = conn.execute("DELETE FROM warehouse_files WHERE table_name = %s AND slice = ANY(%s) "
                                        "RETURNING file", (table, list(written))).fetchall()
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO warehouse_files VALUES (%s, %s, %s, %s, %s)",
                                [(table, key, name, rows, now) for key, (name, rows) in written.items()])
                cur.executemany("INSERT INTO warehouse_replaced VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(file, now) for (file,) in replaced])
            expired = conn.execute("DELETE FROM warehouse_replaced WHERE replaced_at < %s RETURNING file",
                                   (now - GRACE_S,)).fetchall()
        for (file,) in expired:
            with suppress(FileNotFoundError):
                (self.files_dir / file).unlink()


def create_side_tables(conn: Any) -> None:
    """The side tables ``schema.sql`` declares, on ``conn`` (idempotent)."""
    for statement in split_statements(sql("schema")):
        conn.execute(statement)
