"""Test session set-up: the real Neo4j server and the scripted LLM server start once per
session (fixtures in fixtures_neo4j.py / fixtures_llm.py); survivors.py fails the run when a
process or thread of the tests outlives them."""

import os
import signal
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

from linksyn_dagster.services.process import restore_default_interrupts  # noqa: E402

# pytest started as a background job of a script (as CI may start it) ignores SIGINT; Dagster
# would copy that onto SIGTERM, and the servers and `tail`s the tests start could not be stopped
restore_default_interrupts()
# SIGTERM (CI's timeout, `kill`) interrupts the session as Ctrl-C does, so pytest still tears
# down its fixtures: the servers stop and the in-memory data dirs are removed. By default
# SIGTERM would end the process at once and leave every server behind. (Dagster does the
# same after each run it executes in the main thread: SIGTERM raises KeyboardInterrupt.)
signal.signal(signal.SIGTERM, signal.default_int_handler)

pytest_plugins = ["pytester", "linksyn_dagster_tests.survivors", "linksyn_dagster_tests.fixtures_neo4j",
                  "linksyn_dagster_tests.fixtures_llm", "linksyn_dagster_tests.fixtures_pipeline",
                  "linksyn_dagster_tests.fixtures_postgres"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items) -> None:
    """The files of end-to-end runs (marked ``slow``) first, each file's tests in their own
    order: with two workers (``make test``: pytest-xdist, a file at a time, in this order) the
    long files start early and the many short ones fill in around them at the end, instead of
    one worker finishing a long file alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort
