"""A stage that yields almost nothing fails loudly: an LLM stage run against an endpoint that
fails half of its calls fails its blocking ``llm_yield`` check, which names the failure
class and stops what follows in the same run; `linksyn run` stops there with one line.
Real runs: the scripted LLM server, DuckDB, no Neo4j (the seed stages come first)."""

from __future__ import annotations

import json
import os

import dagster as dg
import duckdb
import pytest

from linksyn_dagster.definitions import build_definitions
from linksyn_dagster.defs.llm_stage import CHECK_LLM_YIELD
from linksyn_dagster.pipeline import PipelineFailed, run_pipeline
from linksyn_dagster.settings import LinkSynSettings

SEEDS = 30  # enough that half the calls failing is far above the 20% allowed whatever the draws


@pytest.fixture()
def settings(tmp_path, monkeypatch, llm_server) -> LinkSynSettings:
    """Law seeds of our own, the scripted server, no retries: a faulted call is a failed item."""
    for name in [n for n in os.environ if n.startswith("LINKSYN_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "law.jsonl").write_text("".join(json.dumps({
        "discipline": "law", "subject": "contract law", "language": "en", "answer": "A",
        "question": f"Under contract law, what does clause {n} of a lease bind the tenant to?",
        "choices": [f"Paying rent {n}", f"Repairs {n}", f"Insurance {n}", f"Nothing {n}"]}) + "\n"
        for n in range(SEEDS)))
    return LinkSynSettings(
        data_dir=tmp_path / "data", seeds={"source_dir": seeds},
        llm={"model": llm_server.litellm_model, "api_base": llm_server.api_base, "api_key": "scripted-test-key",
             "concurrency": 8, "max_retries": 0})


def _failing_half_the_calls(llm_server) -> None:
    # a 500 on half the calls (drawn per request), every time it is asked: with no retries, those items fail
    llm_server.configure(fault_rate=0.5, faults=["500"], max_faults_per_request=None, seed=3)


def _materialize(settings: LinkSynSettings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    definitions = build_definitions(settings)
    return dg.materialize([*definitions.assets, *definitions.asset_checks],
                          selection=["seed_qa", "seed_kps", "knowledge_points"], partition_key="law",
                          instance=instance, resources=definitions.resources, raise_on_error=False)


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_LLM_YIELD]
    return evaluation


def test_a_stage_failing_half_its_calls_fails_its_yield_check_and_what_follows_does_not_run(settings, llm_server):
    _failing_half_the_calls(llm_server)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(settings, instance)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        failed = conn.execute("SELECT error_class, count(*) FROM llm_failures GROUP BY 1").fetchall()
    ((error_class, count),) = failed  # one class: the scripted 500s
    assert SEEDS * 0.3 < count < SEEDS * 0.7, failed

    assert not result.success
    evaluation = _evaluation(result)
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description == (
        f"kp_extraction: {count} of {SEEDS} request(s) failed ({count / SEEDS:.0%}, more than the 20% allowed); "
        f"failure classes: {error_class} ×{count}")
    assert evaluation.metadata["kp_extraction_failed"].value == count
    assert evaluation.metadata["failure_classes"].value == {"kp_extraction": {error_class: count}}
    # the stage's data and its failures are kept (a re-run asks only the failed items again), but
    # the asset after it in the same run did not run
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"seed_kps", "llm_usage/seed_kps", "llm_failures/seed_kps"} <= materialized
    assert "knowledge_points" not in materialized
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert started == {"seed_qa", "seed_kps"}


def test_the_same_stage_with_no_faults_passes_and_what_follows_runs(settings, llm_server):
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(settings, instance)
    assert result.success
    evaluation = _evaluation(result)
    assert evaluation.passed
    assert evaluation.description == f"kp_extraction: 0 of {SEEDS} request(s) failed (0%, within the 20% allowed)"
    assert result.output_for_node("knowledge_points").height > 0


def test_with_low_yield_not_blocking_the_check_warns_and_what_follows_runs(settings, llm_server):
    # the demo's setting: one malformed reply can be all of a one-item stage; the check still fails, as a warning
    _failing_half_the_calls(llm_server)
    warned = settings.model_copy(update={"llm": settings.llm.model_copy(update={"low_yield_blocks": False})})
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(warned, instance)
    assert result.success
    evaluation = _evaluation(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "more than the 20% allowed" in evaluation.description
    assert result.output_for_node("knowledge_points").height > 0


def test_linksyn_run_stops_at_the_stage_naming_it_and_its_failure_class(settings, llm_server):
    _failing_half_the_calls(llm_server)
    with pytest.raises(PipelineFailed) as failed:
        run_pipeline(settings, say=lambda _: None, console_log_level="CRITICAL")
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("seed_qa, seed_kps [law]: blocking check seed_kps:llm_yield failed: kp_extraction: ")
    assert "more than the 20% allowed); failure classes: InternalServerError ×" in message
