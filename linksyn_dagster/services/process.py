"""Process plumbing shared by the local services (Neo4j, llama.cpp): detached start, pid files,
port probes and clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path


def restore_default_interrupts() -> bool:
    """Give SIGINT Python's own handler (and SIGTERM its default) when this process started
    with them ignored, as a background job of a non-interactive shell does (``cmd &`` in a
    script, many CI runners). Returns whether anything changed; only the main thread can.

    Why: after every run in the main thread, Dagster points SIGTERM at whatever handles
    SIGINT (``setup_interrupt_handlers``), so an ignored SIGINT becomes an ignored SIGTERM
    for the whole process. Children spawned outside a run then inherit SIGTERM ignored: the
    ``tail -F`` of Dagster's compute-log capture, Neo4j's JVM (which then cannot shut down
    cleanly and is killed), this process itself (``kill`` no longer stops it)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    changed = False
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        changed = True
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        changed = True
    return changed


class ServiceError(RuntimeError):
    """A local service could not be started, reached or stopped. The message is one line a
    user can act on."""


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def spawn_detached(cmd: list[str], log_path: Path, pid_file: Path, env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> int:
    """Start ``cmd`` in its own session (it outlives the caller), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def wait_for_port(host: str, port: int, pid: int, timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if not pid_alive(pid):
            raise ServiceError(f"{what} exited during start-up; see {log_path}: {last_line(log_path)}")
        time.sleep(0.25)
    raise ServiceError(f"{what} did not answer on {host}:{port} within {timeout:.0f}s; see {log_path}")


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[-1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def stop_tree(pid: int, timeout: float = 30.0) -> None:
    """``stop_pid``, and then SIGKILL for whatever it had started that is still alive (a
    child in a session or group of its own, or one that ignored SIGTERM)."""
    below = descendants(pid)
    stop_pid(pid, timeout)
    for child in below:
        deadline = time.monotonic() + 5.0
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)


def stop_pid(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not pid_alive(pid):
                return
            time.sleep(0.2)


def stop_process_group(proc: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """Stop a child started with ``start_new_session=True`` and everything in its group:
    SIGCONT (it may be frozen), SIGTERM, and SIGKILL after ``timeout`` seconds. Reaps the
    child and returns its exit code (None if it could not be reaped)."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None
    finally:
        # the leader may be gone while others of its group live on (a server it started)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"
