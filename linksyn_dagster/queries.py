"""The SQL and Cypher the code runs, kept as files under the repository's ``sql/`` folder
(``sql/duckdb/<name>.sql``, ``sql/cypher/<name>.cypher``) so they can be read, diffed and
pasted into a console on their own. The package reaches them as ``linksyn_dagster/sql``: a
symlink to ``../sql`` in a checkout, the files themselves in a wheel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

SQL_DIR = Path(__file__).resolve().parent / "sql"


@cache
def _read(kind: str, name: str, suffix: str) -> str:
    path = SQL_DIR / kind / f"{name}{suffix}"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no query file {path}") from None


def cypher(name: str) -> str:
    return _read("cypher", name, ".cypher")


def sql(name: str) -> str:
    return _read("duckdb", name, ".sql")


def split_statements(script: str) -> list[str]:
    """The statements of a multi-statement file (``;``-separated, ``--``/``//`` comment lines
    dropped)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith(("//", "--"))]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


@contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """The statements of the block in one DuckDB transaction on ``conn``: committed when the
    block ends, rolled back when it raises (an interrupt included)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def select_list(columns: list[str] | None) -> str:
    """The select list of these columns (``*`` for None), each quoted; only plain identifiers
    are accepted (they come from asset definitions, never from data)."""
    if columns is None:
        return "*"
    bad = [c for c in columns if not IDENTIFIER.fullmatch(c)]
    if bad or not columns:
        raise ValueError(f"columns to read must be plain identifiers, got {columns!r}")
    return ", ".join(f'"{c}"' for c in columns)


def select_slice(conn: Any, table: str, column: str | None, keys: list[str], columns: list[str] | None = None) -> Any:
    """The rows of ``table`` whose ``column`` is in ``keys`` (all rows when ``column`` is
    None), only ``columns`` of them when given, as a polars frame: how both warehouse
    backends read an asset's slice."""
    select = select_list(columns)
    if column is None:
        return conn.execute(f"SELECT {select} FROM {table}").pl()
    return conn.execute(f"SELECT {select} FROM {table} WHERE list_contains($keys, {column})", {"keys": keys}).pl()
