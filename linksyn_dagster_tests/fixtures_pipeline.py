"""Pytest fixtures that point the whole pipeline at the test servers: a temp data directory
(DuckDB, result store, Dagster instance), the session's real Neo4j and the scripted LLM.

The data directory lives in memory where the machine has a tmpfs (``memory_fs.memory_dir``:
why there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from linksyn_dagster.settings import LinkSynSettings, load_settings
from linksyn_dagster_tests.memory_fs import memory_dir


@pytest.fixture()
def pipeline_settings(request, tmp_path, monkeypatch, neo4j_server, neo4j_driver,
                      llm_server) -> Iterator[LinkSynSettings]:
    failed_before = request.session.testsfailed  # the test's own report comes before this teardown
    with memory_dir("data", tmp_path / "data", keep=lambda: request.session.testsfailed > failed_before) as data_dir:
        yield _pipeline_settings(data_dir, tmp_path, monkeypatch, neo4j_server, llm_server)


def _pipeline_settings(data_dir: Path, tmp_path: Path, monkeypatch, neo4j_server, llm_server) -> LinkSynSettings:
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


def side_tables_match_their_materializations(settings: LinkSynSettings) -> dict[str, int]:
    """Every side-table asset's latest materialization of each partition counts the rows it
    holds in its table now (a <table>/<writer> asset: its writer's rows), and every partition
    with rows was reported. Returns the rows each asset reports, over its partitions."""
    from linksyn_dagster.definitions import build_definitions
    from linksyn_dagster.defs.llm_stage import LLM_WRITERS

    def count(query: str, *params) -> list[tuple]:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
            return conn.execute(query, list(params) or None).fetchall()

    specs = [s for s in build_definitions(settings).resolve_all_asset_specs() if "written_by" in s.metadata]
    assert len(specs) == 18
    instance = dg.DagsterInstance.get()  # the pipeline's instance (DAGSTER_HOME)
    reported = {}
    try:
        for spec in specs:
            table, *writer = spec.key.path
            stages = list(LLM_WRITERS[writer[0]][2]) if table.startswith("llm_") else writer
            where, params = ("list_contains(?, stage)", [stages]) if writer else ("TRUE", [])
            if spec.partitions_def is None:
                counts = {None: count(f"SELECT count(*) FROM {table} WHERE {where}", *params)[0][0]}
                events = {None: instance.get_latest_materialization_event(spec.key)}
            else:
                counts = dict(count(f"SELECT partition_key, count(*) FROM {table} WHERE {where} GROUP BY 1", *params))
                materialized = instance.get_materialized_partitions(spec.key)
                assert set(counts) <= materialized, spec.key
                events = {p: instance.fetch_materializations(dg.AssetRecordsFilter(
                    asset_key=spec.key, asset_partitions=[p]), limit=1).records[0] for p in materialized}
            shown = {p: e.asset_materialization.metadata["dagster/row_count"].value for p, e in events.items()}
            assert shown == {p: counts.get(p, 0) for p in shown}, (spec.key, shown, counts)
            reported[spec.key.to_user_string()] = sum(shown.values())
    finally:
        instance.dispose()
    return reported
