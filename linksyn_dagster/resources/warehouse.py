"""DuckDB, the source of truth for every table.

Asset outputs go through the DuckDB polars IO manager (one table per asset, partitions
replaced by ``partition_expr``). The side tables an asset also keeps (rejects, LLM
failures, KP links, co-occurrence edges, dataset drops) are declared in
``sql/duckdb/schema.sql`` and replaced here, each slice in one transaction, so a re-run
converges instead of appending.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster_duckdb import DuckDBResource

from linksyn_dagster.queries import split_statements, sql


class WarehouseResource(DuckDBResource):
    """The DuckDB file under the data directory (tables, side tables, SQL in sql/duckdb)."""

    def ensure_schema(self) -> None:
        with self.get_connection() as conn:
            for statement in split_statements(sql("schema")):
                conn.execute(statement)

    def table_exists(self, table: str) -> bool:
        with self.get_connection() as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
            ).fetchone()
        return bool(found and found[0])

    def query(self, name: str, frames: dict[str, pl.DataFrame] | None = None, **params: Any) -> pl.DataFrame:
        """Run ``sql/duckdb/<name>.sql`` with named parameters ($name) into a polars frame;
        ``frames`` are visible to the query as views of those names."""
        with self.get_connection() as conn:
            for view, frame in (frames or {}).items():
                conn.register(view, frame.to_arrow())
            return conn.execute(sql(name), params or None).pl()

    def replace(self, table: str, df: pl.DataFrame, **where: Any) -> None:
        """Replace the rows of ``table`` matching ``where`` (all rows if empty) with ``df``."""
        self.ensure_schema()
        condition = " AND ".join(f"{column} = ${column}" for column in where) or "TRUE"
        columns = ", ".join(df.columns)
        with self.get_connection() as conn:
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
