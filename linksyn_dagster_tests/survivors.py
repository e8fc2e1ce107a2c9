"""The test run leaves nothing behind: a pytest plugin (loaded by conftest.py) that fails the
run when a process or thread of the tests outlives them.

A process is the run's when it descends from pytest, or when its environment carries this
run's token (``LINKSYN_TEST_RUN``), which every child inherits: that also finds a server
that detached itself (a new session, its parent gone). After every test the plugin notes
which test each new process appeared under, so a survivor is reported with the test that
started it. At the end, once every fixture has been torn down, it waits a few seconds for
processes still exiting, then lists the survivors, kills them so the machine is clean, and
turns the run's exit status into a failure. Non-daemon threads still alive are survivors
too (they would keep the interpreter from exiting).

Two kinds belong to the interpreter, not to a test, and end with it: multiprocessing's
resource tracker (one per process that used multiprocessing; it exits when pytest does) and
the worker threads of a ThreadPoolExecutor (litellm keeps one for its logging callbacks),
which the interpreter stops and joins at exit.
"""

from __future__ import annotations

import concurrent.futures.thread
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

TOKEN_VARIABLE = "LINKSYN_TEST_RUN"
WORKER_OUTPUT_KEY = "linksyn_survivors"  # a pytest-xdist worker's findings, sent to the controller
GRACE_SECONDS = 10.0
# processes and threads that live as long as the interpreter that started them (see above)
_INTERPRETER_PROCESSES = ("multiprocessing.resource_tracker",)
_INTERPRETER_THREAD_TARGETS = (concurrent.futures.thread._worker,)


@dataclass(frozen=True)
class Survivor:
    pid: int
    command: str
    started_under: str


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a live process, None if it is gone."""
    text = _read(f"/proc/{pid}/stat").decode(errors="replace")
    if not text:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return int(fields[1]), fields[0]


def processes_of_this_run(token: str, me: int) -> dict[int, str]:
    """pid -> command line of every live process (not a zombie) that descends from ``me`` or
    carries ``token`` in its environment, ``me`` excluded."""
    parents: dict[int, int] = {}
    marked: set[int] = set()
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        stat = _stat(pid)
        if stat is None or stat[1] == "Z":
            continue
        parents[pid] = stat[0]
        if needle in _read(f"/proc/{pid}/environ").split(b"\0"):
            marked.add(pid)
    ours = set(marked)
    for pid in parents:
        seen, cursor = set(), pid
        while cursor in parents and cursor not in seen:  # walk up to pytest, or to the top
            seen.add(cursor)
            cursor = parents[cursor]
            if cursor == me:
                ours.add(pid)
                break
    commands = {pid: _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
                for pid in sorted(ours)}
    return {pid: command for pid, command in commands.items()
            if not any(marker in command for marker in _INTERPRETER_PROCESSES)}


def lingering_threads() -> list[threading.Thread]:
    """Non-daemon threads other than the main one, pool workers excepted (see above)."""
    return [t for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()
            and getattr(t, "_target", None) not in _INTERPRETER_THREAD_TARGETS]


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(pid, os.WNOHANG)  # reap our own children
        except ChildProcessError:
            pass


class SurvivorCheck:
    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.me = os.getpid()
        self.started_under: dict[int, str] = {}
        self.from_workers: list[str] = []  # what pytest-xdist workers found (this process controls them)
        os.environ[TOKEN_VARIABLE] = self.token  # inherited by everything the tests start

    def _note(self, where: str) -> None:
        for pid in processes_of_this_run(self.token, self.me):
            self.started_under.setdefault(pid, where)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        yield
        self._note(item.nodeid)

    def survivors(self, grace: float) -> tuple[list[Survivor], list[threading.Thread]]:
        deadline = time.monotonic() + grace
        while True:
            found = processes_of_this_run(self.token, self.me)
            threads = lingering_threads()
            if (not found and not threads) or time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        processes = [Survivor(pid, command, self.started_under.get(pid, "(session set-up or teardown)"))
                     for pid, command in found.items()]
        return processes, threads

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, in the controller: a worker ended
    def pytest_testnodedown(self, node, error) -> None:
        reported = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if reported:
            self.from_workers += [f"[{node.gateway.id}] {line}" for line in reported]

    @pytest.hookimpl(trylast=True)  # after the runner has torn down every fixture
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        processes, threads = self.survivors(GRACE_SECONDS)
        lines = list(self.from_workers)
        if processes or threads:
            lines += [f"{len(processes)} process(es) and {len(threads)} thread(s) outlived the tests:"]
            lines += [f"  pid {s.pid}: {s.command[:200]}  (first seen after {s.started_under})" for s in processes]
            lines += [f"  thread {t.name!r} ({t.__class__.__name__}, target {getattr(t, '_target', None)!r})"
                      for t in threads]
            lines.append("  the processes are killed now; a test must stop what it starts, also when it fails")
            _kill([s.pid for s in processes])
        if not lines:
            return
        worker_output = getattr(session.config, "workeroutput", None)
        if worker_output is not None:  # a pytest-xdist worker: the controller reports and fails the run
            worker_output[WORKER_OUTPUT_KEY] = lines
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "survivors", red=True, bold=True)
            for line in lines:
                reporter.write_line(line, red=True)
        else:
            print("\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    if Path("/proc/self/stat").exists() and not config.pluginmanager.has_plugin("linksyn-survivors"):
        config.pluginmanager.register(SurvivorCheck(), "linksyn-survivors")
