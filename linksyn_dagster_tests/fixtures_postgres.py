"""Pytest fixtures for a real local PostgreSQL server (loaded via ``pytest_plugins``).

* ``postgres_server`` (session): a throw-away cluster (``initdb`` into a temp dir) served by
  ``postgres`` on a free loopback port, its unix socket in that dir, stopped at the end
  (fast shutdown, then the process group is killed if anything is left).
* ``postgres_url`` (function): a fresh, empty database on it, as a
  ``postgresql://linksyn:<password>@127.0.0.1:<port>/<db>`` URL (password authentication,
  as a deployment would use).

The server binaries are Debian's (``/usr/lib/postgresql/<version>/bin``, ``make test-deps``
installs the ``postgresql`` package); the newest version there is used, else the one
``pg_config --bindir`` names. PostgreSQL is a test dependency of the Postgres result store:
when it is missing the fixture fails rather than skips.

Running as root: ``initdb`` and ``postgres`` refuse to run as root. The fixture then runs
both as an unprivileged account: ``postgres`` (created by Debian's package) or else
``nobody``, through ``subprocess.Popen(user=..., group=...)`` (no ``su``/``sudo`` needed,
no shell). That account cannot enter pytest's temp dirs (``/tmp/pytest-of-root`` is 0700),
so the cluster lives in its own ``tempfile.mkdtemp`` dir directly under the system temp dir
(world-traversable ``/tmp``), chown'ed to the account; the short path also keeps the unix
socket's path under its 107-byte limit. The dir is removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from linksyn_dagster.services import process

SUPERUSER = "linksyn"


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL's bin dir, or what ``pg_config`` names, None without one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                     check=False).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    return None


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as: None (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists for PostgreSQL")


@dataclass
class PostgresServer:
    home: Path
    port: int
    password: str
    proc: subprocess.Popen

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"


def _start(bindir: Path) -> PostgresServer:
    account = _server_account()
    home = Path(tempfile.mkdtemp(prefix="linksyn-pg-"))
    password = secrets.token_hex(12)
    (home / "pwfile").write_text(password + "\n")
    as_account: dict = {}
    if account is not None:
        for path in (home, home / "pwfile"):
            os.chown(path, account.pw_uid, account.pw_gid)
        as_account = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           **{k: v for k, v in os.environ.items() if k == "LINKSYN_TEST_RUN"}}
    data = home / "data"
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={home / 'pwfile'}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
        cwd=home, env=env, capture_output=True, text=True, timeout=120, check=False, **as_account)
    if init.returncode != 0:
        raise process.ServiceError(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
    port = process.free_port()
    with open(home / "postgres.log", "ab") as log:
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(home),
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "shared_buffers=32MB", "-c", "max_connections=200"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, **as_account)
    server = PostgresServer(home, port, password, proc)
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop(server)
                raise process.ServiceError(f"postgres did not start; see {server.log}") from None
            time.sleep(0.2)


def _stop(server: PostgresServer) -> None:
    with contextlib.suppress(ProcessLookupError):
        server.proc.send_signal(signal.SIGINT)  # fast shutdown: open sessions are ended, not awaited
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    process.stop_process_group(server.proc, timeout=10)  # the backends, should any be left
    shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test-deps` does it)",
                    pytrace=False)
    try:
        server = _start(bindir)
    except process.ServiceError as exc:
        pytest.fail(f"local PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        _stop(server)


_databases = itertools.count()


@pytest.fixture()
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new empty database (left for the session's end: the whole cluster goes then)."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.url(name)
