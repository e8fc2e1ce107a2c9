"""Process plumbing: signal dispositions that survive Dagster, stopping process groups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from linksyn_dagster.services.process import pid_alive, stop_process_group

# A child process that starts with SIGINT ignored (as a background job of a script does), runs
# what Dagster runs around every run in the main thread, then spawns `sleep` from another
# thread, as Dagster's compute-log capture spawns `tail -F` for a run launched from a thread,
# and asks it to stop with SIGTERM, as Dagster does.
_PROBE = textwrap.dedent("""
    import signal, subprocess, sys, threading
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.argv[1] == "fixed":
        from linksyn_dagster.services.process import restore_default_interrupts
        assert restore_default_interrupts()
    from dagster._utils.interrupts import capture_interrupts
    with capture_interrupts():
        pass
    outcome = []
    def spawn():
        child = subprocess.Popen(["sleep", "60"])
        child.terminate()
        try:
            child.wait(timeout=5)
            outcome.append("stopped")
        except subprocess.TimeoutExpired:
            outcome.append("ignored SIGTERM")
            child.kill()
            child.wait()
    worker = threading.Thread(target=spawn)
    worker.start()
    worker.join()
    print(outcome[0])
""")


@pytest.mark.parametrize(("mode", "expected"), [("fixed", "stopped"), ("as_dagster_leaves_it", "ignored SIGTERM")])
def test_children_stay_stoppable_when_the_process_started_with_sigint_ignored(mode, expected):
    # the second case is the cause itself, kept as a canary: should Dagster stop copying an
    # ignored SIGINT onto SIGTERM, it fails, and restore_default_interrupts can go
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == expected


def test_stop_process_group_stops_a_frozen_group_and_its_children():
    leader = subprocess.Popen(["bash", "-c", "sleep 300 & sleep 300 & wait"], start_new_session=True)
    time.sleep(0.3)
    children = [int(p) for p in subprocess.run(["pgrep", "-g", str(leader.pid)], capture_output=True,
                                                text=True).stdout.split() if int(p) != leader.pid]
    assert len(children) == 2
    os.killpg(leader.pid, signal.SIGSTOP)
    assert stop_process_group(leader, timeout=5) is not None
    deadline = time.monotonic() + 5
    while any(pid_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in children)
