"""Durable store of every LLM result that was paid for, and of every item that failed.

Two backends with one interface (:class:`ResultStore`), picked by ``open_result_store``:
the SQLite file under the data directory (the local default), or a Postgres database
(``LINKSYN_LLM__RESULT_STORE_URL``, :mod:`linksyn_dagster.llm.store_postgres`) when steps
run in separate pods, where SQLite's file locks on a network volume cannot be trusted.

SQLite in WAL mode: each result is committed the moment it arrives, several processes (one
Dagster run per discipline partition) can write at once (writers queue on a busy timeout
instead of failing), and a killed process loses at most the calls it had in flight. Results
are keyed by (model, prompt version, request content hash), so a re-run pays only for what
is missing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_results (
    request_key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    item_id TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    content TEXT NOT NULL,
    reasoning TEXT,
    parsed_json TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    latency_s REAL NOT NULL,
    attempts INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_failures (
    request_key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    item_id TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    error_class TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredResult:
    request_key: str
    stage: str
    item_id: str
    model: str
    prompt_version: str
    content: str
    reasoning: str | None
    parsed_json: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: float
    latency_s: float
    attempts: int
    created_at: float

    @property
    def parsed(self) -> dict:
        return json.loads(self.parsed_json)


@dataclass(frozen=True)
class StoredFailure:
    request_key: str
    stage: str
    item_id: str
    model: str
    prompt_version: str
    error_class: str
    message: str
    attempts: int
    created_at: float


def _insert(table: str, record: type) -> str:
    names = [f.name for f in fields(record)]
    return f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


# column lists come from the dataclasses, values always travel as parameters
_INSERT_RESULT = _insert("llm_results", StoredResult)
_INSERT_FAILURE = _insert("llm_failures", StoredFailure)


class ResultStore(Protocol):
    """What the LLM client needs of a store. A result replaces the failure of its key in
    the same transaction; every method may be called from any thread (a connection each)."""

    url: str | None  # the Postgres URL, None for the SQLite file
    path: Path | None  # the SQLite file, None for Postgres

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredResult]: ...

    def put_result(self, result: StoredResult) -> None: ...

    def put_failure(self, failure: StoredFailure) -> None: ...

    def failures(self, stage: str | None = None) -> list[StoredFailure]: ...

    def usage_by_stage(self) -> dict[str, dict[str, float]]: ...

    def close(self) -> None: ...


def open_result_store(url: str | None, sqlite_path: Path | None = None) -> ResultStore:
    """The Postgres store at ``url`` (``postgresql://user:password@host:port/db``) when given,
    else the SQLite file ``sqlite_path``. Raises ``ResultStoreUnavailable`` when the Postgres
    server does not answer."""
    if url:
        from linksyn_dagster.llm.store_postgres import PostgresResultStore  # psycopg only when asked for

        return PostgresResultStore(url)
    if sqlite_path is None:
        raise ValueError("a result store needs a Postgres URL or a SQLite path")
    return SqliteResultStore(sqlite_path)


class ResultStoreUnavailable(RuntimeError):
    """The configured result store cannot be reached; the message is one line naming the setting."""


class StoreReads:
    """The reading queries both backends share, in SQL both understand; a backend gives its
    connection (``_connect``) and its driver's parameter mark (``MARK``)."""

    MARK = "?"

    def _connect(self):
        raise NotImplementedError

    def failures(self, stage: str | None = None) -> list[StoredFailure]:
        if stage is None:
            rows = self._connect().execute("SELECT * FROM llm_failures ORDER BY created_at")
        else:
            marks = self.MARK  # the driver's parameter mark: the value travels as a parameter
            rows = self._connect().execute(f"SELECT * FROM llm_failures WHERE stage = {marks} ORDER BY created_at",
                                           (stage,))
        return [StoredFailure(*row) for row in rows]

    def usage_by_stage(self) -> dict[str, dict[str, float]]:
        """Calls, tokens and cost of every stored result, per stage."""
        rows = self._connect().execute(
            "SELECT stage, count(*), CAST(sum(prompt_tokens) AS BIGINT), CAST(sum(completion_tokens) AS BIGINT), "
            "CAST(sum(reasoning_tokens) AS BIGINT), sum(cost_usd) FROM llm_results GROUP BY stage ORDER BY stage")
        return {stage: {"calls": calls, "prompt_tokens": p, "completion_tokens": c, "reasoning_tokens": r,
                        "cost_usd": float(cost)}
                for stage, calls, p, c, r, cost in rows}


class SqliteResultStore(StoreReads):
    url = None

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredResult]:
        keys = list(keys)
        found: dict[str, StoredResult] = {}
        conn = self._connect()
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT * FROM llm_results WHERE request_key IN ({marks})", chunk)
            for row in rows:
                result = StoredResult(*row)
                found[result.request_key] = result
        return found

    def put_result(self, result: StoredResult) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_INSERT_RESULT, list(asdict(result).values()))
            conn.execute("DELETE FROM llm_failures WHERE request_key = ?", (result.request_key,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def put_failure(self, failure: StoredFailure) -> None:
        self._connect().execute(_INSERT_FAILURE, list(asdict(failure).values()))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def now() -> float:
    return time.time()
