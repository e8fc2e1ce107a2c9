"""Reliability: the whole demo pipeline against a flaky endpoint, secrets that must never
leak, and bad credentials that must fail clearly. Real Neo4j, real HTTP, real Dagster."""

from __future__ import annotations

import json

import duckdb
import pytest

from linksyn_dagster.pipeline import PipelineFailed, run_pipeline
from linksyn_dagster.settings import load_settings
from linksyn_dagster.testing.scripted_llm import FAULT_KINDS

pytestmark = pytest.mark.slow

PLANTED_API_KEY = "sk-planted-4f1c9e77d2b84a0f-secret"


def _sql(settings, query: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return conn.execute(query).fetchall()


def _one(settings, query: str) -> int:
    return int(_sql(settings, query)[0][0] or 0)


def _failures(settings, stage: str) -> int:
    return _one(settings, f"SELECT count(*) FROM llm_failures WHERE stage = '{stage}'")


def test_demo_run_with_20_percent_mixed_faults_loses_nothing(pipeline_settings, llm_server, neo4j_server, monkeypatch,
                                                             tmp_path):
    # every fault kind, 20% of requests, with no cap per request: some items exhaust their
    # retries and must land in llm_failures; timeouts hold 3 s against a 2 s client timeout
    monkeypatch.setenv("LINKSYN_LLM__TIMEOUT_S", "2")
    monkeypatch.setenv("LINKSYN_LLM__MAX_RETRIES", "2")
    monkeypatch.setenv("LINKSYN_LLM__API_KEY", PLANTED_API_KEY)
    llm_server.configure(fault_rate=0.2, faults=list(FAULT_KINDS), max_faults_per_request=None,
                         timeout_hold_s=3.0, retry_after_s=0.1, seed=7)
    settings = load_settings()
    summary = run_pipeline(settings, say=lambda _: None)  # raises PipelineFailed on a failed step
    stats = llm_server.stats()
    assert stats["faults_total"] >= 20 and len(stats["faults"]) == len(FAULT_KINDS), stats["faults"]

    # the identity, per stage: every item is in its output or in llm_failures
    seeds = _one(settings, "SELECT count(*) FROM seed_qa")
    extracted = _one(settings, "SELECT count(DISTINCT seed_id) FROM seed_kps")
    assert extracted + _failures(settings, "kp_extraction") == seeds
    paths = _one(settings, "SELECT count(*) FROM kp_paths")
    qa = _one(settings, "SELECT count(*) FROM synthesized_qa")
    assert qa + _failures(settings, "qa_synthesis") == paths
    judged = _one(settings, "SELECT count(*) FROM enhanced_qa WHERE difficulty IS NOT NULL")
    items = _one(settings, "SELECT count(*) FROM enhanced_qa")
    assert judged + _failures(settings, "difficulty_judge") == items
    assert _failures(settings, "kp_extraction") + _failures(settings, "qa_synthesis") >= 1  # faults did bite
    # every failure says what went wrong
    assert _one(settings, "SELECT count(*) FROM llm_failures WHERE error_class = '' OR message = '' "
                          "OR attempts < 1") == 0
    report = json.loads((settings.data_dir / "reports" / "distribution_report.json").read_text())
    assert report["llm_failures"] == _one(settings, "SELECT count(*) FROM llm_failures")
    assert summary.runs > 0

    # the planted API key reached the server on every request, and the Neo4j password was
    # used throughout, but neither is written anywhere: event logs, metadata, compute logs,
    # DuckDB, the result store, the release and the report all live under the data dir
    assert stats["requests"] > 0
    for secret in (PLANTED_API_KEY, neo4j_server.password):
        leaks = [str(p) for p in settings.data_dir.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaks == [], f"a secret was written to {leaks}"


def test_wrong_neo4j_password_fails_with_a_clear_error_that_does_not_echo_it(pipeline_settings, monkeypatch):
    wrong = "not-the-password-5e0c1d"
    monkeypatch.setenv("LINKSYN_NEO4J__PASSWORD", wrong)
    settings = load_settings()
    with pytest.raises(PipelineFailed) as failure:
        run_pipeline(settings, say=lambda _: None)
    message = str(failure.value)
    assert "kp_graph" in message and "refused the credentials" in message
    assert settings.neo4j.uri in message
    assert wrong not in message
    leaks = [str(p) for p in settings.data_dir.rglob("*") if p.is_file() and wrong.encode() in p.read_bytes()]
    assert leaks == []


def test_neo4j_down_fails_fast_naming_the_uri(pipeline_settings, monkeypatch):
    from linksyn_dagster.services.process import free_port

    uri = f"bolt://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("LINKSYN_NEO4J__URI", uri)
    with pytest.raises(PipelineFailed) as failure:
        run_pipeline(load_settings(), say=lambda _: None)
    assert uri in str(failure.value) and "kp_graph" in str(failure.value)
