"""Test session set-up: the real Neo4j server and the scripted LLM server start once per
session (fixtures in fixtures_neo4j.py / fixtures_llm.py); survivors.py fails the run when a
process or thread of the tests outlives them."""

import os
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

# interrupts.py: SIGTERM and Ctrl-C stop the session (also in the middle of a Dagster run),
# and the fixtures are torn down
pytest_plugins = ["pytester", "linksyn_dagster_tests.interrupts", "linksyn_dagster_tests.survivors",
                  "linksyn_dagster_tests.fixtures_neo4j", "linksyn_dagster_tests.fixtures_llm",
                  "linksyn_dagster_tests.fixtures_pipeline", "linksyn_dagster_tests.fixtures_postgres"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items) -> None:
    """The files of end-to-end runs (marked ``slow``) first, each file's tests in their own
    order: with two workers (``make test``: pytest-xdist, a file at a time, in this order) the
    long files start early and the many short ones fill in around them at the end, instead of
    one worker finishing a long file alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort
