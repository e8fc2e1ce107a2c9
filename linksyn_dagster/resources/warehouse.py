"""DuckDB, the source of truth for every table.

Asset outputs go through the WarehouseIOManager (one table per asset, partitions replaced
by ``partition_expr``), which writes through ``write_slice`` here. The side tables an asset also keeps (rejects, LLM
failures, KP links, co-occurrence edges, dataset drops) are declared in
``sql/duckdb/schema.sql`` and replaced here, each slice in one transaction, so a re-run
converges instead of appending; each is an asset too, reported by the asset that writes it
(``defs/metadata.py``).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster_duckdb import DuckDBResource

from linksyn_dagster.queries import split_statements, sql


class WarehouseResource(DuckDBResource):
    """The DuckDB file under the data directory (tables, side tables, SQL in sql/duckdb)."""

    # Each method opens one connection and closes it (a DuckDB file admits one writing
    # process at a time, and partitions run in processes of their own). Opening and closing
    # costs tens of milliseconds, so a method does its checks on the connection it has.

    def ensure_schema(self) -> None:
        with self.get_connection() as conn:
            _create_side_tables(conn)

    def table_exists(self, table: str) -> bool:
        with self.get_connection() as conn:
            return _exists(conn, table)

    def query(self, name: str, frames: dict[str, pl.DataFrame] | None = None, **params: Any) -> pl.DataFrame:
        """Run ``sql/duckdb/<name>.sql`` with named parameters ($name) into a polars frame;
        ``frames`` are visible to the query as views of those names."""
        with self.get_connection() as conn:
            for view, frame in (frames or {}).items():
                conn.register(view, frame.to_arrow())
            return conn.execute(sql(name), params or None).pl()

    def replace(self, table: str, df: pl.DataFrame, **where: Any) -> None:
        """Replace the rows of ``table`` matching ``where`` (all rows if empty) with ``df``."""
        condition = " AND ".join(f"{column} = ${column}" for column in where) or "TRUE"
        columns = ", ".join(df.columns)
        with self.get_connection() as conn:
            _create_side_tables(conn)
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(f"DELETE FROM {table} WHERE {condition}", where or None)
                if df.height:
                    conn.register("incoming", df.to_arrow())
                    conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
                    conn.unregister("incoming")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def write_slice(self, table: str, df: pl.DataFrame, column: str | None, keys: list[str]) -> None:
        """Replace the rows of ``table`` whose ``column`` is in ``keys`` (the whole table when
        ``column`` is None) with ``df``; create the table from ``df``'s schema if needed."""
        with self.get_connection() as conn:
            conn.register("incoming", df.to_arrow())
            conn.execute("BEGIN TRANSACTION")
            try:
                if column is None:
                    conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming")
                else:
                    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
                    _add_new_columns(conn, table)
                    conn.execute(f"DELETE FROM {table} WHERE list_contains($keys, {column})", {"keys": keys})
                    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("incoming")

    def read_slice(self, table: str, column: str | None, keys: list[str]) -> pl.DataFrame | None:
        """The rows of ``table`` whose ``column`` is in ``keys`` (all rows when ``column`` is
        None); None when the table does not exist."""
        with self.get_connection() as conn:
            if not _exists(conn, table):
                return None
            if column is None:
                return conn.execute(f"SELECT * FROM {table}").pl()
            return conn.execute(f"SELECT * FROM {table} WHERE list_contains($keys, {column})", {"keys": keys}).pl()


def _create_side_tables(conn: Any) -> None:
    for statement in split_statements(sql("schema")):
        conn.execute(statement)


def _exists(conn: Any, table: str) -> bool:
    found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()
    return bool(found and found[0])


def _add_new_columns(conn, table: str) -> None:
    """Columns of ``incoming`` that a partitioned ``table`` made by an older version lacks are
    added (empty for the other partitions' rows), so a data dir outlives a new column."""
    have = {row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall()}
    wanted = {row[0] for row in conn.execute("DESCRIBE SELECT * FROM incoming").fetchall()}
    if wanted - have:  # the table again, its rows with the union of both column sets (by name)
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} "
                     "UNION ALL BY NAME (SELECT * FROM incoming LIMIT 0)")
