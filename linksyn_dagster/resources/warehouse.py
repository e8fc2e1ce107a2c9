"""DuckDB, the source of truth for every table.

Asset outputs go through the WarehouseIOManager (one table per asset, partitions replaced
by ``partition_expr``), which writes through ``write_slice`` here. The side tables an asset also keeps (rejects, LLM
failures, KP links, co-occurrence edges, dataset drops) are declared in
``sql/duckdb/schema.sql`` and replaced here, each slice in one transaction, so a re-run
converges instead of appending.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster_duckdb import DuckDBResource

from linksyn_dagster.core.graph_load import GraphDelta, GraphState
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
                    conn.execute(f"DELETE FROM {table} WHERE list_contains($keys, {column})", {"keys": keys})
                    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("incoming")

    def read_slice(self, table: str, column: str | None, keys: list[str]) -> pl.DataFrame:
        with self.get_connection() as conn:
            if column is None:
                return conn.execute(f"SELECT * FROM {table}").pl()
            return conn.execute(f"SELECT * FROM {table} WHERE list_contains($keys, {column})", {"keys": keys}).pl()

    # -- what the last graph load left in Neo4j ---------------------------------------------

    _STATE_TABLES = ("kps", "seeds", "links", "edges")

    def graph_state_version(self) -> str | None:
        """The graph version the saved state describes (None: no state saved)."""
        self.ensure_schema()
        with self.get_connection() as conn:
            meta = conn.execute("SELECT version FROM neo4j_state_meta").fetchall()
        return meta[0][0] if len(meta) == 1 else None

    def read_graph_state(self) -> GraphState:
        self.ensure_schema()
        with self.get_connection() as conn:
            frames = {name: conn.execute(f"SELECT * FROM neo4j_state_{name}").pl() for name in self._STATE_TABLES}
        return GraphState(**frames)

    def write_graph_state(self, version: str, state: GraphState, delta: GraphDelta | None = None,
                          base: str | None = None) -> None:
        """Save the state Neo4j now holds, in one transaction (a crash leaves the old state,
        which no longer matches Neo4j's version, so the next load is a full one). With the
        ``delta`` just loaded on top of the saved state of version ``base``, only the
        difference is written: a scan of each table, not a rewrite of it."""
        self.ensure_schema()
        with self.get_connection() as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                saved = conn.execute("SELECT version FROM neo4j_state_meta").fetchall()
                incremental = delta is not None and base is not None and saved == [(base,)]
                conn.execute("DELETE FROM neo4j_state_meta")
                for name in self._STATE_TABLES:
                    if incremental:
                        _apply_state_delta(conn, name, state, delta)
                    else:
                        conn.execute(f"DELETE FROM neo4j_state_{name}")
                        _insert(conn, f"neo4j_state_{name}", getattr(state, name))
                conn.execute("INSERT INTO neo4j_state_meta VALUES ($version, now())", {"version": version})
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise


_STATE_KEYS = {"kps": ["kp_id"], "seeds": ["seed_id"], "links": ["seed_id", "kp_id"], "edges": ["kp_a", "kp_b"]}


def _insert(conn, table: str, frame: pl.DataFrame) -> None:
    if frame.height:
        conn.register("incoming", frame.to_arrow())
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        conn.unregister("incoming")


def _apply_state_delta(conn, name: str, state: GraphState, delta: GraphDelta) -> None:
    """Delete the rows ``delta`` removes or changes, insert the ones it adds or changes."""
    keys = _STATE_KEYS[name]
    table = f"neo4j_state_{name}"
    current = getattr(state, name)
    if name in ("kps", "seeds"):
        prefix = name
        touched = pl.concat([getattr(delta, f"{prefix}_gone"), getattr(delta, f"{prefix}_changed").select(keys)])
        added = pl.concat([getattr(delta, f"{prefix}_new"), getattr(delta, f"{prefix}_changed")]).select(keys)
    elif name == "links":
        touched, added = delta.links_gone.select(keys), delta.links_new.select(keys)
    else:
        touched = pl.concat([delta.edges_gone, delta.edges_changed.select(keys)])
        added = pl.concat([delta.edges_new, delta.edges_changed]).select(keys)
    if touched.height:
        conn.register("touched", touched.to_arrow())
        condition = " AND ".join(f"t.{k} = touched.{k}" for k in keys)
        conn.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM touched WHERE {condition})")
        conn.unregister("touched")
    _insert(conn, table, current.join(added, on=keys, how="semi"))
