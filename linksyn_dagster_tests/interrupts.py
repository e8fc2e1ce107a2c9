"""SIGTERM (CI's timeout, `kill`) and Ctrl-C stop the test session, also in the middle of a
Dagster run, and pytest still tears its fixtures down: the servers stop and the in-memory
data dirs are removed. A pytest plugin, loaded by conftest.py.

- Outside a run, SIGTERM raises KeyboardInterrupt, as Ctrl-C does (by default it would end
  the process at once and leave every server behind), and pytest stops.
- Inside a run that Dagster executes in the test process, Dagster takes both signals over:
  it turns them into the run's failure (``DagsterExecutionInterruptedError``), the test
  fails, and pytest would go on with the next test: a CI timeout would not stop the suite.
  So every signal's number is also written into a pipe (``signal.set_wakeup_fd``, which
  works below the Python handlers Dagster swaps); after each test, a SIGTERM or SIGINT
  read from it stops the session there.

A process started as a background job of a script ignores SIGINT, and Dagster would copy
that onto SIGTERM: the default handlers come back first (``restore_default_interrupts``)."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from linksyn_dagster.services.process import restore_default_interrupts

STOPPING = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


class InterruptWatch:
    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        for fd in (self.read_fd, self.write_fd):
            os.set_blocking(fd, False)
        self.previous = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)

    def received(self) -> set[int]:
        """The signals received since the last call."""
        numbers: set[int] = set()
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.read_fd, 512):
                numbers.update(chunk)
        return numbers

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        yield
        stopping = sorted(STOPPING[number] for number in self.received() & set(STOPPING))
        if stopping:
            item.session.shouldstop = f"{' and '.join(stopping)} received during {item.nodeid}"

    def close(self) -> None:
        with contextlib.suppress(ValueError):  # not the main thread: nothing was set
            signal.set_wakeup_fd(self.previous)
        os.close(self.read_fd)
        os.close(self.write_fd)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin("linksyn-interrupts"):
        return
    try:
        restore_default_interrupts()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        watch = InterruptWatch()
    except ValueError:  # not in the main thread: signals are not ours to handle
        return
    config.pluginmanager.register(watch, "linksyn-interrupts")


def pytest_unconfigure(config: pytest.Config) -> None:
    watch = config.pluginmanager.get_plugin("linksyn-interrupts")
    if watch is not None:
        watch.close()
        config.pluginmanager.unregister(watch)
