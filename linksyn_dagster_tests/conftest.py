"""Test session set-up: the real Neo4j server and the scripted LLM server start once per
session (fixtures in fixtures_neo4j.py / fixtures_llm.py)."""

import os
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

pytest_plugins = ["linksyn_dagster_tests.fixtures_neo4j", "linksyn_dagster_tests.fixtures_llm",
                  "linksyn_dagster_tests.fixtures_pipeline"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
