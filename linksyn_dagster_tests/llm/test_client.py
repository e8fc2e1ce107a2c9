"""The LLM client against the scripted OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from linksyn_dagster.llm.client import BudgetExhausted, ClientConfig, LLMClient, LLMConfigurationError, grammar_friendly
from linksyn_dagster.llm.replies import InvalidReply, parse_reply, split_reasoning
from linksyn_dagster.llm.types import LLMRequest
from linksyn_dagster.llm.store import open_result_store
from linksyn_dagster.testing.scripted_llm import Fault


class Pair(BaseModel):
    left: str = Field(max_length=60)
    right: str = Field(max_length=60)
    score: int = Field(ge=1, le=5)


def _client(server, tmp_path, logger=None, **kwargs) -> LLMClient:
    store = open_result_store(None, tmp_path / "results.sqlite")
    options = dict(api_base=server.api_base, api_key="test-key", max_retries=3, concurrency=8,
                   backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)
    options.update(kwargs)
    return LLMClient(ClientConfig(server.litellm_model, **options), store, logger=logger)


def _requests(n: int) -> list[LLMRequest]:
    return [LLMRequest(f"item-{i}", [{"role": "user", "content": f"pair words photosynthesis chlorophyll {i}"}])
            for i in range(n)]


def test_results_are_durable_and_never_paid_twice(llm_server, tmp_path):
    client = _client(llm_server, tmp_path)
    first = client.run("stage", "p@v1", _requests(12), Pair)
    assert all(o.ok and not o.from_cache for o in first)
    assert llm_server.stats()["successes"] == 12

    again = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(12), Pair)  # a fresh process would
    assert all(o.ok and o.from_cache for o in again)
    assert llm_server.stats()["successes"] == 12
    assert [o.result.parsed for o in again] == [o.result.parsed for o in first]

    other_prompt = client.run("stage", "p@v2", _requests(2), Pair)  # a new prompt version re-asks
    assert not any(o.from_cache for o in other_prompt)
    assert llm_server.stats()["successes"] == 14


def test_identical_requests_in_a_batch_are_asked_once(llm_server, tmp_path):
    same = [{"role": "user", "content": "pair words photosynthesis chlorophyll twin"}]
    requests = [LLMRequest("first", same), LLMRequest("second", list(same)), *_requests(2)]
    outcomes = _client(llm_server, tmp_path).run("stage", "p@v1", requests, Pair)
    assert [o.item_id for o in outcomes] == ["first", "second", "item-0", "item-1"]
    assert outcomes[0].result == outcomes[1].result and all(o.ok for o in outcomes)
    assert llm_server.stats()["successes"] == 3


@pytest.mark.parametrize("kind", ["429", "429_no_retry_after", "500", "503", "reset", "empty",
                                  "truncated_json"])
def test_each_fault_is_retried_to_success(llm_server, tmp_path, kind):
    llm_server.configure(rules=[(r"photosynthesis", Fault(kind, times=1))], retry_after_s=0.05)
    outcomes = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(3), Pair)
    assert all(o.ok for o in outcomes), [o.failure for o in outcomes]
    stats = llm_server.stats()
    assert stats["faults"][kind] >= 3
    assert stats["max_successes_per_request"] == 1


def test_schema_violations_are_repaired(llm_server, tmp_path):
    llm_server.configure(rules=[(r"That reply was invalid", lambda body: {"left": "a", "right": "b", "score": 3}),
                                (r"photosynthesis", Fault("invalid_schema_json", times=1))])
    outcomes = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(3), Pair)
    assert all(o.ok and o.result.attempts == 2 for o in outcomes)
    assert llm_server.stats()["faults"]["invalid_schema_json"] == 3


def test_timeouts_are_retried(llm_server, tmp_path):
    llm_server.configure(rules=[(r"photosynthesis", Fault("timeout", times=1))], timeout_hold_s=3.0)
    outcomes = _client(llm_server, tmp_path, timeout_s=0.5).run("stage", "p@v1", _requests(2), Pair)
    assert all(o.ok for o in outcomes)
    assert llm_server.stats()["faults"]["timeout"] == 2


def test_items_that_keep_failing_land_in_failures(llm_server, tmp_path):
    llm_server.configure(rules=[(r"chlorophyll 1\b", Fault("500"))])
    client = _client(llm_server, tmp_path, max_retries=2)
    outcomes = client.run("stage", "p@v1", _requests(3), Pair)
    failed = [o for o in outcomes if not o.ok]
    assert [o.item_id for o in failed] == ["item-1"]
    record = failed[0].failure
    assert record.error_class == "InternalServerError" and record.attempts == 3
    assert [f.item_id for f in client.store.failures("stage")] == ["item-1"]

    llm_server.configure(rules=[])  # the endpoint recovers: a re-run fills the gap and clears the record
    outcomes = client.run("stage", "p@v1", _requests(3), Pair)
    assert all(o.ok for o in outcomes)
    assert client.store.failures("stage") == []


def test_replies_that_stay_non_json_fail_after_the_retries(llm_server, tmp_path):
    llm_server.configure(rules=[(r"photosynthesis", "not json at all")])
    outcome = _client(llm_server, tmp_path, max_retries=2).run("stage", "p@v1", _requests(1), Pair)[0]
    assert not outcome.ok
    assert outcome.failure.error_class == "InvalidReply" and outcome.failure.attempts == 3
    assert llm_server.stats()["requests"] == 3


def test_unrepairable_replies_fail_with_reason(llm_server, tmp_path):
    llm_server.configure(rules=[(r".", "{\"left\": 1}")])
    outcome = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(1), Pair)[0]
    assert not outcome.ok and outcome.failure.error_class == "InvalidReply"
    assert "schema" in outcome.failure.message


def test_reasoning_is_kept_apart_and_counted(llm_server, tmp_path):
    llm_server.configure(reasoning="both")
    result = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(1), Pair)[0].result
    assert result.reasoning and "<think>" not in result.content
    Pair.model_validate_json(result.parsed_json)
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_concurrency_limit_is_respected(llm_server, tmp_path):
    llm_server.configure(latency_s=0.2)
    _client(llm_server, tmp_path, concurrency=4).run("stage", "p@v1", _requests(16), Pair)
    assert llm_server.stats()["peak_in_flight"] == 4


def test_an_endpoint_that_refuses_everything_stops_the_stage(llm_server, tmp_path):
    client = _client(llm_server, tmp_path, api_base=llm_server.base_url + "/does-not-exist/v1")
    with pytest.raises(LLMConfigurationError, match="NotFoundError"):
        client.run("stage", "p@v1", _requests(1), Pair)
    assert client.store.failures() == []  # not an item's fault: nothing recorded per item


def test_api_key_never_in_repr(llm_server, tmp_path):
    client = _client(llm_server, tmp_path, api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(client)
    assert "sk-very-secret" not in repr(client.config)


@pytest.mark.parametrize("content,reasoning,answer,trace", [
    ("<think>step 1</think>{\"a\": 1}", None, "{\"a\": 1}", "step 1"),
    ("{\"a\": 1}", "provider trace", "{\"a\": 1}", "provider trace"),
    ("plain", None, "plain", None),
    ("<think>unfinished", None, "", "unfinished"),
])
def test_split_reasoning(content, reasoning, answer, trace):
    assert split_reasoning(content, reasoning) == (answer, trace)


def test_parse_reply_accepts_fenced_and_embedded_json():
    assert parse_reply("```json\n{\"left\":\"x\",\"right\":\"y\",\"score\":2}\n```", Pair).score == 2
    assert parse_reply("Sure! {\"left\":\"x\",\"right\":\"y\",\"score\":5} hope it helps", Pair).score == 5
    with pytest.raises(InvalidReply, match="not JSON"):
        parse_reply("no braces here", Pair)
    with pytest.raises(InvalidReply, match="score"):
        parse_reply("{\"left\":\"x\",\"right\":\"y\",\"score\":9}", Pair)


def test_grammar_friendly_schema_drops_only_long_caps():
    from linksyn_dagster.llm.schemas import SynthesizedQA

    sent = grammar_friendly(SynthesizedQA.model_json_schema())
    assert "maxLength" not in sent["properties"]["question"]
    assert sent["properties"]["knowledge_points_used"]["items"]["maxLength"] == 80
    assert sent["properties"]["choices"]["minItems"] == 4


def test_overload_halves_the_limit_and_successes_restore_it(llm_server, tmp_path):
    llm_server.configure(rules=[(r"photosynthesis", Fault("429", times=1))], retry_after_s=0.05, latency_s=0.05)
    client = _client(llm_server, tmp_path, concurrency=8)
    outcomes = client.run("stage", "p@v1", _requests(40), Pair)
    assert all(o.ok for o in outcomes)
    assert client.limiter.cuts >= 1  # the 429 burst cut the limit
    assert client.limiter.limit > 1  # and 40 successes grew it back up
    assert llm_server.stats()["peak_in_flight"] <= 8


def test_budget_stops_cleanly_and_a_rerun_continues(llm_server, tmp_path):
    llm_server.configure(model_name="gpt-4o-mini")  # a model with a price in litellm's offline cost map
    client = _client(llm_server, tmp_path, concurrency=1, budget_usd=1e-9)
    with pytest.raises(BudgetExhausted, match="4 item\\(s\\) not asked"):
        client.run("stage", "p@v1", _requests(5), Pair)
    assert client.spent_usd > 0
    assert llm_server.stats()["successes"] == 1
    assert client.store.failures() == []  # items not asked are not failures

    rest = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(5), Pair)
    assert sum(o.from_cache for o in rest) == 1 and all(o.ok for o in rest)
    assert llm_server.stats()["successes"] == 5


def test_costs_come_from_litellms_price_list_or_the_configured_price(llm_server, tmp_path):
    llm_server.configure(model_name="gpt-4o-mini")  # priced in litellm's offline cost map
    [listed] = _client(llm_server, tmp_path).run("stage", "p@v1", _requests(1), Pair)
    import litellm
    info = litellm.get_model_info("openai/gpt-4o-mini")
    expected = (listed.result.prompt_tokens * info["input_cost_per_token"]
                + listed.result.completion_tokens * info["output_cost_per_token"])
    assert listed.result.cost_usd == pytest.approx(expected, rel=1e-6) and expected > 0

    llm_server.configure(model_name="scripted")  # unknown to litellm: free unless priced
    [free] = _client(llm_server, tmp_path / "a").run("stage", "p@v1", _requests(1), Pair)
    assert free.result.cost_usd == 0.0
    [priced] = _client(llm_server, tmp_path / "b", price_per_token=(2e-6, 8e-6)).run(
        "stage", "p@v1", _requests(1), Pair)
    assert priced.result.cost_usd == pytest.approx(
        priced.result.prompt_tokens * 2e-6 + priced.result.completion_tokens * 8e-6, rel=1e-6)
    assert priced.result.cost_usd > 0


def test_worker_processes_share_a_large_batch_and_its_limit(llm_server, tmp_path, caplog):
    import logging

    llm_server.configure(latency_s=0.02)
    twin = [{"role": "user", "content": "pair words photosynthesis chlorophyll twin"}]
    requests = [*_requests(150), LLMRequest("twin-a", twin), LLMRequest("twin-b", list(twin))]
    client = _client(llm_server, tmp_path, concurrency=6, processes=2, logger=logging.getLogger("test.shard"))
    try:
        with caplog.at_level(logging.INFO, logger="test.shard"):
            outcomes = client.run("stage", "p@v1", requests, Pair)
        assert client._pool is not None  # the batch really went to worker processes
        assert [o.item_id for o in outcomes] == [r.item_id for r in requests]
        assert all(o.ok and not o.from_cache for o in outcomes)
        assert outcomes[-1].result == outcomes[-2].result
        stats = llm_server.stats()
        assert stats["successes"] == 151 and stats["max_successes_per_request"] == 1
        assert stats["peak_in_flight"] <= 6
        assert "stage: 151/151 done" in caplog.text  # progress ticks came back from the workers

        # every answer is in the store: a new client (no workers needed) pays for nothing
        again = _client(llm_server, tmp_path).run("stage", "p@v1", requests, Pair)
        assert all(o.from_cache for o in again) and llm_server.stats()["successes"] == 151
    finally:
        client.close()


def test_worker_processes_split_the_budget(llm_server, tmp_path):
    llm_server.configure(model_name="gpt-4o-mini")
    client = _client(llm_server, tmp_path, concurrency=2, processes=2, budget_usd=1e-9)
    try:
        with pytest.raises(BudgetExhausted, match="not asked"):
            client.run("stage", "p@v1", _requests(140), Pair)
        assert 0 < client.spent_usd and llm_server.stats()["successes"] <= 4  # each worker stops at its share
    finally:
        client.close()
