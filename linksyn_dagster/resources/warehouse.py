"""The warehouse, the source of truth for every table: a DuckDB file under the data
directory (the default), or, with ``LINKSYN_WAREHOUSE__CATALOG_URL``, Parquet files per slice
named by a catalog in Postgres, which many processes write at once
(:mod:`linksyn_dagster.resources.warehouse_catalog`). Assets see the same methods and the same
SQL (``sql/duckdb``) on either.

Asset outputs go through the WarehouseIOManager (one table per asset, partitions replaced
by ``partition_expr``), which writes through ``write_slice`` here. The side tables an asset also keeps (rejects, LLM
failures, KP links, co-occurrence edges, dataset drops) are declared in
``sql/duckdb/schema.sql`` and replaced here, each slice in one transaction, so a re-run
converges instead of appending; each is an asset too, reported by the asset that writes it
(``defs/metadata.py``).
"""

# no `from __future__ import annotations`: Dagster reads the ResourceDependency annotation at class creation
import ctypes
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from linksyn_dagster.core.slice_diff import plan_edit
from linksyn_dagster.queries import select_slice, sql, transaction
from linksyn_dagster.resources.settings import Secret
from linksyn_dagster.resources.warehouse_catalog import ParquetCatalog, create_side_tables

if TYPE_CHECKING:
    from linksyn_dagster.settings import LinkSynSettings


def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _malloc_trim()


def return_freed_memory() -> None:
    """Give the memory freed to the C allocator back to the system. DuckDB frees its buffers
    when a connection closes, but glibc keeps the freed pages in the process: at 1M seeds
    about 500 MB after the release's reads, counted in its peak for the rest of the run."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class DuckDBFile:
    """The warehouse in one DuckDB file: one writing process at a time."""

    # Each method opens one connection and closes it (a DuckDB file admits one writing
    # process at a time, and partitions run in processes of their own). Opening and closing
    # costs tens of milliseconds, so a method does its checks on the connection it has.

    def __init__(self, database: str):
        self.database = database
        # dagster-duckdb's resource opens the file, waiting with growing retries while another
        # process holds its lock ("Could not set lock on file")
        self._duckdb = DuckDBResource(database=database)

    @contextmanager
    def connect(self, statement: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            with self._duckdb.get_connection() as conn:
                yield conn
        finally:
            return_freed_memory()

    def replace(self, table: str, df: pl.DataFrame, **where: Any) -> None:
        self.replace_each({table: df}, **where)

    def replace_each(self, frames: Mapping[str, pl.DataFrame], **where: Any) -> None:
        """Each table's slice ``where`` replaced by its frame: one connection (opening the file
        costs ~20 ms) and one transaction for all."""
        condition = " AND ".join(f"{column} = ${column}" for column in where) or "TRUE"
        with self.connect() as conn:
            create_side_tables(conn)
            with transaction(conn):
                for table, df in frames.items():
                    columns = ", ".join(df.columns)
                    conn.execute(f"DELETE FROM {table} WHERE {condition}", where or None)
                    if df.height:
                        conn.register("incoming", df.to_arrow())
                        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
                        conn.unregister("incoming")

    def write_slice(self, table: str, df: pl.DataFrame, column: str | None, keys: list[str]) -> None:
        with self.connect() as conn:
            conn.register("incoming", df.to_arrow())
            try:
                with transaction(conn):
                    if column is None:
                        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming")
                    else:
                        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
                        _add_new_columns(conn, table)
                        if not _edit_slice(conn, table, df, column, keys):
                            conn.execute(f"DELETE FROM {table} WHERE list_contains($keys, {column})", {"keys": keys})
                            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
            finally:
                conn.unregister("incoming")

    def read_slice(self, table: str, column: str | None, keys: list[str],
                   columns: list[str] | None = None) -> pl.DataFrame | None:
        with self.connect() as conn:
            if not has_table(conn, table):
                return None
            return select_slice(conn, table, column, keys, columns)


Backend = DuckDBFile | ParquetCatalog


@contextmanager
def read_warehouse(settings: "LinkSynSettings") -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A connection that reads the warehouse ``settings`` name, outside Dagster (the CLI's
    summaries and estimates): the DuckDB file read-only, None before it exists, or the catalog's
    tables as of now."""
    url = settings.warehouse.catalog_url
    if url is not None:
        with ParquetCatalog(url.get_secret_value(), settings.warehouse_files_dir).connect() as conn:
            yield conn
    elif settings.duckdb_path.exists():
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
            yield conn
    else:
        yield None


def open_warehouse(database: str, catalog_url: str | None, files_dir: str) -> Backend:
    """The DuckDB file ``database``, or the Parquet catalog at ``catalog_url`` (files under ``files_dir``)."""
    return ParquetCatalog(catalog_url, files_dir) if catalog_url else DuckDBFile(database)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse (tables, side tables, SQL in sql/duckdb): the DuckDB file ``database``, or
    the Parquet files under ``files_dir`` that the Postgres catalog at ``catalog_url`` names."""

    database: str = Field(description="the DuckDB file (used when no catalog_url is set)")
    files_dir: str = Field("", description="the Parquet files of the catalog (LINKSYN_WAREHOUSE__FILES_DIR)")
    catalog_url: dg.ResourceDependency[Secret] = Secret()  # holds the Postgres password, when set

    _backend: Backend | None = PrivateAttr(default=None)

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = open_warehouse(self.database, self.catalog_url.value, self.files_dir)
        return self._backend

    @property
    def where(self) -> str:
        """Where the tables are, for messages: the DuckDB file, or the catalog's files."""
        return f"the catalog's files under {self.files_dir}" if self.catalog_url.value else self.database

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection that sees every table (on the catalog: as of now, read only)."""
        with self.backend.connect() as conn:
            yield conn

    @contextmanager
    def editing(self, tables: list[str]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that sees every table and in which ``tables`` may be changed in place
        (DELETE, INSERT, in a transaction of the caller's): the DuckDB file's own; on the
        catalog, whose connection only reads, in-memory copies of ``tables``, each written back
        whole (``replace``) when the block ends without an error, in the order given."""
        backend = self.backend
        if isinstance(backend, DuckDBFile):
            with backend.connect() as conn:
                yield conn
            return
        with backend.connect() as conn:
            for table in tables:
                kind = conn.execute("SELECT table_type FROM information_schema.tables WHERE table_name = $table",
                                    {"table": table}).fetchone()
                if kind is not None and kind[0] == "VIEW":  # the catalog's files: copied into memory
                    conn.execute(f"CREATE TABLE {table}__editing AS SELECT * FROM {table}")
                    conn.execute(f"DROP VIEW {table}")
                    conn.execute(f"ALTER TABLE {table}__editing RENAME TO {table}")
            yield conn
            for table in tables:
                backend.replace(table, conn.execute(f"SELECT * FROM {table}").pl())

    def ensure_schema(self) -> None:
        with self.backend.connect() as conn:
            create_side_tables(conn)

    def table_exists(self, table: str) -> bool:
        with self.backend.connect(table) as conn:
            return has_table(conn, table)

    def query(self, name: str, frames: dict[str, pl.DataFrame] | None = None, **params: Any) -> pl.DataFrame:
        """Run ``sql/duckdb/<name>.sql`` with named parameters ($name) into a polars frame;
        ``frames`` are visible to the query as views of those names."""
        with self.backend.connect(sql(name)) as conn:
            for view, frame in (frames or {}).items():
                conn.register(view, frame.to_arrow())
            return conn.execute(sql(name), params or None).pl()

    def replace(self, table: str, df: pl.DataFrame, **where: Any) -> None:
        """Replace the rows of ``table`` matching ``where`` (all rows if empty) with ``df``."""
        self.backend.replace(table, df, **where)

    def replace_each(self, frames: Mapping[str, pl.DataFrame], **where: Any) -> None:
        """``replace`` for each table of ``frames`` with its frame, the same slice ``where`` of
        each: on the DuckDB file in one transaction, on the catalog one table after the other."""
        self.backend.replace_each(frames, **where)

    def write_slice(self, table: str, df: pl.DataFrame, column: str | None, keys: list[str]) -> None:
        """Replace the rows of ``table`` whose ``column`` is in ``keys`` (the whole table when
        ``column`` is None) with ``df``; create the table from ``df``'s schema if needed."""
        self.backend.write_slice(table, df, column, keys)

    def read_slice(self, table: str, column: str | None, keys: list[str],
                   columns: list[str] | None = None) -> pl.DataFrame | None:
        """The rows of ``table`` whose ``column`` is in ``keys`` (all rows when ``column`` is
        None), only ``columns`` of them when given; None when the table does not exist."""
        return self.backend.read_slice(table, column, keys, columns)


def has_table(conn: Any, table: str) -> bool:
    """Whether the warehouse connection ``conn`` sees a table (or view) named ``table``."""
    found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()
    return bool(found and found[0])


def _edit_slice(conn, table: str, df: pl.DataFrame, column: str, keys: list[str]) -> bool:
    """The slice ``keys`` of ``table`` made equal to ``df`` (``incoming``) by deleting the
    stored rows it no longer has and appending its new tail, when that is smaller than
    rewriting (:func:`~linksyn_dagster.core.slice_diff.plan_edit`): a re-run that changes a few
    rows writes a few. False when the slice must be rewritten instead."""
    stored = conn.execute(f"SELECT rowid AS __rowid, * FROM {table} WHERE list_contains($keys, {column}) "
                          "ORDER BY rowid", {"keys": keys}).pl()
    if set(stored.columns) != {"__rowid", *df.columns}:  # a column the new frame lacks: rewrite
        return False
    edit = plan_edit(stored.select(df.columns), df)
    if edit is None:
        return False
    frames = {"deleted": pl.DataFrame({"rid": stored.get_column("__rowid").gather(edit.delete)}),
              "appended": df.slice(edit.append_from)}
    for name, frame in frames.items():
        conn.register(name, frame.to_arrow())
    try:
        if edit.delete.size:
            conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rid FROM deleted)")
        if edit.append_from < df.height:
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM appended")
    finally:
        for name in frames:
            conn.unregister(name)
    return True


def _add_new_columns(conn, table: str) -> None:
    """Columns of ``incoming`` that a partitioned ``table`` made by an older version lacks are
    added (empty for the other partitions' rows), so a data dir outlives a new column."""
    have = {row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall()}
    wanted = {row[0] for row in conn.execute("DESCRIBE SELECT * FROM incoming").fetchall()}
    if wanted - have:  # the table again, its rows with the union of both column sets (by name)
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} "
                     "UNION ALL BY NAME (SELECT * FROM incoming LIMIT 0)")
