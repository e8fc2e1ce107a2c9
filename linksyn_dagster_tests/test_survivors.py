"""The survivor check (survivors.py) itself: a pytest run whose test leaks a process or a
thread fails, names what survived and the test that started it, and kills the process; in
one process, and with pytest-xdist's workers (as `make test` runs), where each worker checks
its own and the controller fails the run."""

from __future__ import annotations

import os
import re
import time

import pytest

from linksyn_dagster_tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(180)


@pytest.fixture()
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    pytester.makeini("[pytest]\naddopts = -p linksyn_dagster_tests.survivors -p no:cacheprovider\n")
    return pytester


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])


@WORKERS
def test_a_run_that_stops_what_it_starts_passes(inner, workers):
    inner.makepyfile(test_clean="""
        import multiprocessing, subprocess, threading
        from concurrent.futures import ThreadPoolExecutor

        POOL = ThreadPoolExecutor(2)  # a library's shared pool: its workers end with the interpreter

        def test_clean():
            child = subprocess.Popen(["sleep", "300"])
            worker = threading.Thread(target=lambda: None)
            worker.start()
            child.kill()
            child.wait()
            worker.join()

        def test_interpreter_helpers_are_not_survivors():
            assert POOL.submit(lambda: 42).result() == 42
            multiprocessing.get_context("spawn").Lock()  # starts multiprocessing's resource tracker
    """)
    result = inner.runpytest_subprocess(*workers)
    assert result.ret == 0, result.stdout.str()
    assert "survivors" not in result.stdout.str()


@WORKERS
def test_a_leaked_child_and_a_detached_grandchild_fail_the_run_and_are_killed(inner, workers):
    inner.makepyfile(test_leaky="""
        import subprocess

        def test_passes():
            pass

        def test_leaks_processes():
            subprocess.Popen(["sleep", "311"])
            # setsid -f: a new session, and the forking parent exits at once, so the sleep's
            # parent is no longer pytest; only the inherited token can find it
            subprocess.run(["setsid", "-f", "sleep", "312"], check=True)
    """)
    result = inner.runpytest_subprocess(*workers)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    assert "2 passed" in out  # every test passed: the survivors alone fail the run
    assert "2 process(es) and 0 thread(s) outlived the tests" in out
    assert ("[gw" in out) == bool(workers)  # with xdist: found by a worker, reported by the controller
    for seconds in ("311", "312"):
        line = next(line for line in out.splitlines() if f"sleep {seconds}" in line)
        assert "first seen after test_leaky.py::test_leaks_processes" in line, line
        assert _gone(int(re.search(r"pid (\d+)", line).group(1))), f"sleep {seconds} was not killed"


@WORKERS
def test_a_leaked_thread_fails_the_run(inner, workers):
    inner.makepyfile(test_thread="""
        import threading, time

        STOP = threading.Event()

        def test_leaks_a_thread():
            threading.Thread(target=lambda: STOP.wait(15), name="leaky-worker").start()
    """)
    started = time.monotonic()
    result = inner.runpytest_subprocess(*workers)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    assert "0 process(es) and 1 thread(s) outlived the tests" in out and "'leaky-worker'" in out
    assert ("[gw" in out) == bool(workers)
    assert time.monotonic() - started < 60
