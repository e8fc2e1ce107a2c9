"""Several endpoints for one model through a litellm Router built from settings: calls
spread over the fleet within each endpoint's limit, a dead endpoint is routed around, and
fallback models answer when the primary keeps failing. Real HTTP to scripted servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from pydantic import BaseModel, Field

from linksyn_dagster.llm.types import LLMRequest
from linksyn_dagster.llm.store import open_result_store
from linksyn_dagster.resources.llm import build_client
from linksyn_dagster.services.process import free_port
from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster.testing.scripted_llm import ScriptedLLMServer


class Pair(BaseModel):
    left: str = Field(max_length=60)
    right: str = Field(max_length=60)
    score: int = Field(ge=1, le=5)


@pytest.fixture()
def fleet() -> Iterator[list[ScriptedLLMServer]]:
    servers = [ScriptedLLMServer(port=0, latency_s=0.05).start() for _ in range(3)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def _requests(n: int, tag: str = "") -> list[LLMRequest]:
    return [LLMRequest(f"item-{i}", [{"role": "user", "content": f"pair words mitosis meiosis {tag} {i}"}])
            for i in range(n)]


def _client(tmp_path, **llm):
    settings = LinkSynSettings(llm={"model": "openai/scripted", "api_key": "fleet-key", "max_retries": 4,
                                    "timeout_s": 5.0, **llm})
    client = build_client(settings, open_result_store(None, tmp_path / "results.sqlite"))
    client.config = replace(client.config, backoff_base_s=0.01, backoff_max_s=0.05)
    return client


def test_calls_spread_over_the_fleet_within_each_endpoints_limit(fleet, tmp_path):
    client = _client(tmp_path, api_bases=[s.api_base for s in fleet], concurrency=3)
    assert client.config.router_config is not None and client.concurrency == 9
    outcomes = client.run("stage", "p@v1", _requests(90), Pair)
    assert all(o.ok for o in outcomes)
    stats = [s.stats() for s in fleet]
    assert sum(st["successes"] for st in stats) == 90
    assert all(st["successes"] >= 10 for st in stats), [st["successes"] for st in stats]
    assert all(st["peak_in_flight"] <= 3 for st in stats), [st["peak_in_flight"] for st in stats]
    assert max(st["peak_in_flight"] for st in stats) >= 2  # the fleet really worked in parallel


def test_a_dead_endpoint_is_routed_around(fleet, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    client = _client(tmp_path, api_bases=[fleet[0].api_base, dead, fleet[1].api_base], concurrency=2)
    outcomes = client.run("stage", "p@v1", _requests(40, "dead"), Pair)
    assert all(o.ok for o in outcomes), [o.failure for o in outcomes if not o.ok][:3]
    assert fleet[0].stats()["successes"] + fleet[1].stats()["successes"] == 40


def test_fallback_model_answers_when_the_primary_keeps_failing(fleet, tmp_path):
    primary, backup = fleet[0], fleet[1]
    primary.configure(fault_rate=1.0, faults=["500"], max_faults_per_request=None)
    backup.configure(model_name="backup")
    client = _client(tmp_path, api_base=primary.api_base, fallback_models=[f"openai/backup@{backup.api_base}"],
                     concurrency=2)
    outcomes = client.run("stage", "p@v1", _requests(10, "fallback"), Pair)
    assert all(o.ok for o in outcomes), [o.failure for o in outcomes if not o.ok][:3]
    assert primary.stats()["successes"] == 0 and primary.stats()["faults_total"] >= 1
    assert backup.stats()["successes"] == 10


def test_one_endpoint_needs_no_router(fleet, tmp_path):
    client = _client(tmp_path, api_base=fleet[0].api_base, concurrency=3)
    assert client.config.router_config is None and client.concurrency == 3
