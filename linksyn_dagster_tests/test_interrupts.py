"""interrupts.py itself: a SIGTERM that arrives while Dagster runs assets in the test process
stops the session after that test, with the session's fixtures torn down; without the
plugin, Dagster turns it into the run's failure and the next test starts."""

from __future__ import annotations

import pytest

from linksyn_dagster_tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(180)

INNER = """
    import os, signal, time
    from pathlib import Path

    import dagster as dg
    import pytest

    MARKS = Path(os.environ["MARKS"])

    @pytest.fixture(scope="session")
    def server():
        yield
        (MARKS / "torn-down").touch()

    @dg.asset
    def interrupted() -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # as CI's timeout would, in the middle of the run
        time.sleep(5)

    def test_a_run_meets_a_sigterm(server):
        result = dg.materialize([interrupted], raise_on_error=False)
        assert result.success

    def test_the_next_one(server):
        (MARKS / "next-ran").touch()
"""


@pytest.mark.parametrize("plugin", [True, False], ids=["with-the-plugin", "without"])
def test_a_sigterm_in_a_dagster_run_stops_the_session_and_tears_down(pytester: pytest.Pytester, monkeypatch,
                                                                      tmp_path, plugin):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    monkeypatch.setenv("MARKS", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    options = "-p linksyn_dagster_tests.interrupts " if plugin else ""
    pytester.makeini(f"[pytest]\naddopts = {options}-p no:cacheprovider\n")
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess()
    out = result.stdout.str()
    assert "1 failed" in out, out  # Dagster made the signal the run's failure
    assert (tmp_path / "torn-down").exists()
    if plugin:
        assert result.ret == pytest.ExitCode.INTERRUPTED, out
        assert "SIGTERM received during test_inner.py::test_a_run_meets_a_sigterm" in out, out
        assert not (tmp_path / "next-ran").exists()
    else:  # what the plugin is for: the session went on
        assert (tmp_path / "next-ran").exists() and "1 passed" in out, out
