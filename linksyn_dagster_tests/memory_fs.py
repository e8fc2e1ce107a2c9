"""Test data in memory: a pipeline run commits to SQLite (Dagster's event log, the LLM result
store) and opens and checkpoints DuckDB hundreds of times, Neo4j commits every load
transaction, and each commit waits for the disk. A profile of the end-to-end test found a
third of its wall time in SQLite commits and closes, none of it LinkSyn's code. On a tmpfs
those waits vanish. The tests prove nothing about a disk's durability (a killed process
leaves the same files on a tmpfs as on a disk), so the data dirs of pipeline runs and the
session's Neo4j home live there when the machine has one with room, else in pytest's temp
dirs as before. Each dir is removed when its fixture ends, so memory does not hold a finished
test's data (a failed test's data dir is copied to its pytest temp dir first)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

MEMORY_FS = Path("/dev/shm")
MEMORY_FS_FREE_BYTES = 4 << 30  # leave the tmpfs alone when it is small or nearly full


@contextlib.contextmanager
def memory_dir(prefix: str, fallback: Path, keep: Callable[[], bool] = lambda: False) -> Iterator[Path]:
    """A fresh dir on the machine's tmpfs, removed afterwards (copied to ``fallback`` first
    when ``keep()`` says so, e.g. after a failed test, for its post-mortem); ``fallback``
    itself (kept, as pytest keeps its temp dirs) when there is no writable tmpfs with room."""
    usable = False
    with contextlib.suppress(OSError):
        stat = os.statvfs(MEMORY_FS)
        usable = os.access(MEMORY_FS, os.W_OK) and stat.f_bavail * stat.f_frsize >= MEMORY_FS_FREE_BYTES
    if not usable:
        fallback.mkdir(parents=True, exist_ok=True)
        yield fallback
        return
    path = Path(tempfile.mkdtemp(prefix=f"linksyn-test-{prefix}-", dir=MEMORY_FS))
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            if keep():
                shutil.copytree(path, fallback, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(path, ignore_errors=True)
