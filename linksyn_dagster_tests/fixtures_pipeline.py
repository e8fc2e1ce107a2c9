"""Pytest fixtures that point the whole pipeline at the test servers: a temp data directory
(DuckDB, result store, Dagster instance), the session's real Neo4j and the scripted LLM."""

from __future__ import annotations

import pytest

from linksyn_dagster.settings import LinkSynSettings, load_settings


@pytest.fixture()
def pipeline_settings(tmp_path, monkeypatch, neo4j_server, neo4j_driver, llm_server) -> LinkSynSettings:
    data_dir = tmp_path / "data"
    env = {
        "LINKSYN_DATA_DIR": str(data_dir),
        "LINKSYN_NEO4J__URI": neo4j_server.uri,
        "LINKSYN_NEO4J__USER": neo4j_server.user,
        "LINKSYN_NEO4J__PASSWORD": neo4j_server.password,
        "LINKSYN_LLM__MODEL": llm_server.litellm_model,
        "LINKSYN_LLM__API_BASE": llm_server.api_base,
        "LINKSYN_LLM__API_KEY": "scripted-test-key",
        "LINKSYN_LLM__CONCURRENCY": "8",
        # priced like a self-hosted endpoint, so cost accounting has something to add up
        "LINKSYN_LLM__INPUT_COST_PER_MTOK": "0.5",
        "LINKSYN_LLM__OUTPUT_COST_PER_MTOK": "2.0",
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LINKSYN_SEEDS__SOURCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    return load_settings()
