"""A local PostgreSQL server from Debian's package: a cluster created with ``initdb`` in a
directory of our own, served by ``postgres`` on 127.0.0.1 only, detached (pid file, log), with
a generated password for its one superuser.

Used by ``linksyn stack`` (Dagster's run, event and schedule storage) and by the tests'
``postgres_server`` fixture.

The binaries are Debian's (``/usr/lib/postgresql/<version>/bin``; ``make test-deps`` installs
the ``postgresql`` package): the newest version there, else what ``pg_config --bindir`` names.

Running as root: ``initdb`` and ``postgres`` refuse to. They then run as an unprivileged
account, ``postgres`` (created by Debian's package) or else ``nobody``, through
``subprocess.Popen(user=..., group=...)`` (no ``su``/``sudo``, no shell). That account must be
able to reach the cluster directory: every directory above it needs others' (or its group's)
search bit. The cluster directory itself is chown'ed to it; the password file stays ours, 0600.

No unix socket: the server listens on TCP only (a socket under a deep data dir would pass the
107-byte path limit, and Debian's default socket directory may not be writable)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

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


def server_account() -> pwd.struct_passwd | None:
    """The account to run the server as: None (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise process.ServiceError("running as root and neither a 'postgres' nor a 'nobody' account exists "
                               "to run PostgreSQL as")


def _unreachable_parent(path: Path, account: pwd.struct_passwd) -> Path | None:
    """The first directory above ``path`` that ``account`` cannot search, None if all can be."""
    for parent in reversed(path.resolve().parents):
        st = parent.stat()
        if st.st_uid == account.pw_uid:
            bit = 0o100
        elif st.st_gid == account.pw_gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return parent
    return None


class LocalPostgres:
    """One cluster under ``home``: ``home/data`` (the cluster), ``home/postgres.log``,
    ``home/postgres.pid`` (the postmaster's pid) and ``password_file`` (0600, ours).

    ``fast=True`` trades durability for speed (fsync off): for throw-away test clusters."""

    def __init__(self, home: Path, port: int, password_file: Path, *, fast: bool = False,
                 max_connections: int = 200):
        self.home = home
        self.port = port
        self.password_file = password_file
        self.fast = fast
        self.max_connections = max_connections

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "postgres.pid"

    @property
    def password(self) -> str:
        return self.password_file.read_text(encoding="ascii").strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def pid(self) -> int | None:
        return process.read_pid(self.pid_file)

    def running(self) -> bool:
        return self.pid() is not None

    def _bindir(self) -> Path:
        bindir = postgres_bindir()
        if bindir is None:
            raise process.ServiceError("PostgreSQL is not installed (Debian: apt-get install postgresql; "
                                       "`make test-deps` does it)")
        return bindir

    def _as_account(self) -> dict:
        account = server_account()
        if account is None:
            return {}
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @staticmethod
    def _env() -> dict[str, str]:
        # LINKSYN_TEST_RUN: a test run's survivors check finds the server by it
        return {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                **{k: v for k, v in os.environ.items() if k == "LINKSYN_TEST_RUN"}}

    def _init(self, bindir: Path) -> None:
        """Create the cluster (first start only) with a generated password, kept 0600."""
        account = server_account()
        self.home.mkdir(parents=True, exist_ok=True)
        if account is not None:
            blocked = _unreachable_parent(self.home, account)
            if blocked is not None:
                raise process.ServiceError(
                    f"running as root, PostgreSQL runs as '{account.pw_name}', which cannot enter {blocked}; "
                    "choose a data dir it can reach (LINKSYN_DATA_DIR)")
            os.chown(self.home, account.pw_uid, account.pw_gid)
        if not self.password_file.exists():
            self.password_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(16) + "\n")
        # initdb reads the password from a file the server account can read: a copy that
        # lives only while initdb runs
        pwfile = self.home / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(self.password + "\n")
        try:
            if account is not None:
                os.chown(pwfile, account.pw_uid, account.pw_gid)
            init = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                 "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8",
                 *(["--no-sync"] if self.fast else [])],
                cwd=self.home, env=self._env(), capture_output=True, text=True, timeout=120, check=False,
                **self._as_account())
        finally:
            pwfile.unlink(missing_ok=True)
        if init.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise process.ServiceError(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (creating the cluster the first time); a running one is left as is."""
        if self.running():
            return
        bindir = self._bindir()
        if not (self.data / "PG_VERSION").exists():
            self._init(bindir)
        stale = self.data / "postmaster.pid"  # left by a server killed with SIGKILL (its pid may be reused)
        if stale.exists() and not self.running():
            stale.unlink()
        options = ["-c", f"max_connections={self.max_connections}", "-c", "shared_buffers=32MB"]
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", "", *options],
                cwd=self.home, env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, **self._as_account())
        self.pid_file.write_text(str(proc.pid))
        self._wait_ready(proc, timeout)

    def _wait_ready(self, proc: subprocess.Popen, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if proc.poll() is not None:
                    self.pid_file.unlink(missing_ok=True)
                    raise process.ServiceError(f"postgres exited during start-up; see {self.log}: "
                                               f"{process.last_line(self.log)}") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise process.ServiceError(f"postgres did not answer on 127.0.0.1:{self.port} within "
                                               f"{timeout:.0f}s; see {self.log}") from None
                time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (open sessions are ended, not awaited), then the process group is
        killed if anything is left. The cluster stays."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + timeout
            while process.pid_alive(pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            process.stop_pid(pid, timeout=5.0)  # the backends, should any be left
        self.pid_file.unlink(missing_ok=True)

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')

    def status(self) -> dict:
        pid = self.pid()
        return {"running": pid is not None, "pid": pid, "port": self.port, "host": "127.0.0.1",
                "data": str(self.data), "log": str(self.log)}
