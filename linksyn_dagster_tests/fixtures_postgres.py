"""Pytest fixtures for a real local PostgreSQL server (loaded via ``pytest_plugins``).

* ``postgres_server`` (session): a throw-away cluster (``initdb`` into a temp dir) served by
  ``postgres`` on a free loopback port (TCP only), stopped at the end (fast shutdown, then
  the process group is killed if anything is left).
* ``postgres_url`` (function): a fresh, empty database on it, as a
  ``postgresql://linksyn:<password>@127.0.0.1:<port>/<db>`` URL (password authentication,
  as a deployment would use).

The server is ``linksyn_dagster.services.postgres_server.LocalPostgres`` (the one
``linksyn stack`` runs), in its fast mode (no fsync). PostgreSQL is a test dependency of the
Postgres result store: when it is missing the fixture fails rather than skips.

Running as root, the server runs as an unprivileged account (see postgres_server), which
cannot enter pytest's temp dirs (``/tmp/pytest-of-root`` is 0700): the cluster lives in its
own ``tempfile.mkdtemp`` dir directly under the system temp dir (world-traversable ``/tmp``),
removed at the end.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from linksyn_dagster.services import process
from linksyn_dagster.services.postgres_server import LocalPostgres, postgres_bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    if postgres_bindir() is None:
        pytest.fail("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test-deps` does it)",
                    pytrace=False)
    home = Path(tempfile.mkdtemp(prefix="linksyn-pg-"))
    home.chmod(0o711)  # the server account enters it (its password file stays 0600, ours)
    server = LocalPostgres(home / "cluster", process.free_port(), home / "password", fast=True)
    try:
        server.start()
    except process.ServiceError as exc:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"local PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture()
def postgres_url(postgres_server: LocalPostgres) -> str:
    """A new empty database (left for the session's end: the whole cluster goes then)."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.url(name)
