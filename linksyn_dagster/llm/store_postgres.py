"""The LLM result store in Postgres (``LINKSYN_LLM__RESULT_STORE_URL``).

Same tables, keys and semantics as the SQLite store (:mod:`linksyn_dagster.llm.store`):
results and failures are upserted by request key, a result deletes its key's failure in the
same transaction, and each thread talks over its own connection. Meant for deployments where
every step runs in its own pod (``deploy/``): all of them write one server, with no file lock
on a shared volume involved. Each write commits at once, so a killed pod loses only its calls
in flight.
"""

from __future__ import annotations

import threading
from dataclasses import astuple, fields
from pathlib import Path
from typing import Iterable

import psycopg

from linksyn_dagster.llm.store import ResultStoreUnavailable, StoredFailure, StoredResult, StoreReads
from linksyn_dagster.settings import masked_url

CONNECT_TIMEOUT_S = 5
SETTING = "LINKSYN_LLM__RESULT_STORE_URL"

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
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    latency_s DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_results_stage ON llm_results (stage);
CREATE TABLE IF NOT EXISTS llm_failures (
    request_key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    item_id TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    error_class TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
"""
# CREATE ... IF NOT EXISTS is not safe against itself in Postgres (two pods starting at once can
# both try to create a table's row type): the schema is created under this advisory lock
_SCHEMA_LOCK = 0x4C4C4D5253  # "LLMRS"


def _upsert(table: str, record: type) -> str:
    names = [f.name for f in fields(record)]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names[1:])
    return (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON CONFLICT (request_key) DO UPDATE SET {updates}")


# column lists come from the dataclasses, values always travel as parameters
_UPSERT_RESULT = _upsert("llm_results", StoredResult)
_UPSERT_FAILURE = _upsert("llm_failures", StoredFailure)


class PostgresResultStore(StoreReads):
    MARK = "%s"
    path: Path | None = None

    def __init__(self, url: str):
        if not url.startswith(("postgresql://", "postgres://")):
            raise ResultStoreUnavailable(f"{SETTING}={masked_url(url)} is not a Postgres URL: write it as "
                                         "postgresql://user:password@host:port/database, or unset it to keep LLM "
                                         "results in the SQLite file under the data directory")
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[psycopg.Connection] = []  # every thread's connection, closed by close()
        conn = self._connect()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    def _connect(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:  # unreachable, refused, bad URL
                reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                raise ResultStoreUnavailable(
                    f"{SETTING}={masked_url(self.url)} does not answer ({reason}): start that Postgres server, "
                    f"fix the URL (postgresql://user:password@host:port/database), or unset it to keep LLM "
                    f"results in the SQLite file under the data directory") from None
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        return conn

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredResult]:
        keys = list(keys)
        found: dict[str, StoredResult] = {}
        conn = self._connect()
        for start in range(0, len(keys), 1000):
            rows = conn.execute("SELECT * FROM llm_results WHERE request_key = ANY(%s)", (keys[start:start + 1000],))
            for row in rows:
                result = StoredResult(*row)
                found[result.request_key] = result
        return found

    def put_result(self, result: StoredResult) -> None:
        conn = self._connect()
        with conn.transaction():
            conn.execute(_UPSERT_RESULT, astuple(result))
            conn.execute("DELETE FROM llm_failures WHERE request_key = %s", (result.request_key,))

    def put_failure(self, failure: StoredFailure) -> None:
        self._connect().execute(_UPSERT_FAILURE, astuple(failure))

    def close(self) -> None:
        """Close every thread's connection (the store reconnects if used again)."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
