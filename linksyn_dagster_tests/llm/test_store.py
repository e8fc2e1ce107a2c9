"""The LLM result store's two backends keep one contract: the SQLite file (the local default)
and Postgres (LINKSYN_LLM__RESULT_STORE_URL), against a real server the fixture starts
(fixtures_postgres.py). Then Postgres under several processes at once, a stage re-run that
pays nothing twice, and the one-line error when the server does not answer."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import psycopg
import pytest
from pydantic import BaseModel, Field

from linksyn_dagster.llm.store import (ResultStore, ResultStoreUnavailable, StoredFailure, StoredResult,
                                       open_result_store)
from linksyn_dagster.llm.types import LLMRequest
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.services.process import free_port
from linksyn_dagster.settings import LinkSynSettings


def result(key: str, stage: str = "kp_extract", created: float = 1.0, tokens: int = 100, cost: float = 0.25,
           content: str = "answer") -> StoredResult:
    return StoredResult(key, stage, f"item-{key}", "openai/m", "p@v1", content, "thought" if tokens % 2 else None,
                        '{"answer": "%s"}' % content, tokens, tokens // 2, tokens // 4, cost, 0.5, 1, created)


def failure(key: str, stage: str = "kp_extract", created: float = 1.0, message: str = "timed out") -> StoredFailure:
    return StoredFailure(key, stage, f"item-{key}", "openai/m", "p@v1", "Timeout", message, 3, created)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> ResultStore:
    if request.param == "sqlite":
        opened = open_result_store(None, tmp_path / "results.sqlite")
    else:
        opened = open_result_store(request.getfixturevalue("postgres_url"), tmp_path / "unused.sqlite")
    yield opened
    opened.close()
    assert not (tmp_path / "unused.sqlite").exists()  # the URL wins over the file


def test_results_come_back_as_written_and_a_key_is_replaced_not_added(store):
    written = [result("a", tokens=101), result("b", tokens=200, cost=0.125)]
    for one in written:
        store.put_result(one)
    assert store.get_many(["a", "b", "missing"]) == {"a": written[0], "b": written[1]}
    assert store.get_many([]) == {}
    assert store.get_many(["a"])["a"].parsed == {"answer": "answer"} and store.get_many(["a"])["a"].reasoning

    store.put_result(result("a", tokens=300, content="newer"))
    assert store.get_many(["a"])["a"].content == "newer"
    assert store.usage_by_stage()["kp_extract"]["calls"] == 2  # replaced, not a second row


def test_many_keys_are_read_in_one_call(store):
    for i in range(1203):  # more than one chunk of either backend
        store.put_result(result(f"k{i}", created=float(i)))
    found = store.get_many([f"k{i}" for i in range(0, 1300)])
    assert len(found) == 1203 and found["k1202"].created_at == 1202.0


def test_a_result_replaces_the_failure_of_its_key(store):
    store.put_failure(failure("a", created=1.0))
    store.put_failure(failure("b", created=2.0))
    store.put_failure(failure("a", created=3.0, message="still timing out"))  # a retry's failure replaces it
    assert [(f.request_key, f.message) for f in store.failures()] == [("b", "timed out"), ("a", "still timing out")]

    store.put_result(result("a"))
    assert [f.request_key for f in store.failures()] == ["b"]
    assert set(store.get_many(["a", "b"])) == {"a"}


def test_failures_of_one_stage_in_the_order_they_happened(store):
    store.put_failure(failure("x3", "qa_synthesis", created=3.0))
    store.put_failure(failure("x1", "qa_synthesis", created=1.0))
    store.put_failure(failure("y", "kp_extract", created=2.0))
    assert [f.request_key for f in store.failures("qa_synthesis")] == ["x1", "x3"]
    assert store.failures("kp_extract") == [failure("y", "kp_extract", created=2.0)]
    assert store.failures("nothing") == []


def test_usage_by_stage_sums_calls_tokens_and_cost(store):
    assert store.usage_by_stage() == {}
    store.put_result(result("a", "kp_extract", tokens=100, cost=0.25))
    store.put_result(result("b", "kp_extract", tokens=40, cost=0.5))
    store.put_result(result("c", "judge", tokens=8, cost=0.0))
    store.put_failure(failure("d", "judge"))  # failures cost nothing here
    assert store.usage_by_stage() == {
        "judge": {"calls": 1, "prompt_tokens": 8, "completion_tokens": 4, "reasoning_tokens": 2, "cost_usd": 0.0},
        "kp_extract": {"calls": 2, "prompt_tokens": 140, "completion_tokens": 70, "reasoning_tokens": 35,
                       "cost_usd": 0.75},
    }
    usage = store.usage_by_stage()["kp_extract"]
    assert type(usage["calls"]) is int and type(usage["prompt_tokens"]) is int and type(usage["cost_usd"]) is float


def test_many_threads_write_at_once(store):
    """Each thread has its own connection; overlapping keys end as one row each, every failure
    that a result followed is gone."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(t: int) -> None:
        try:
            start.wait()
            for i in range(40):
                key = f"shared-{i}" if i % 2 else f"own-{t}-{i}"
                store.put_failure(failure(key, created=float(i)))
                store.put_result(result(key, created=float(i)))
                assert key in store.get_many([key])
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.usage_by_stage()["kp_extract"]["calls"] == 8 * 20 + 20
    assert store.failures() == []


def test_a_closed_store_reconnects_when_used_again(store):
    store.put_result(result("a"))
    store.close()
    assert set(store.get_many(["a"])) == {"a"}


def _write_in_a_process(url: str, worker: int, keys: int) -> None:
    store = open_result_store(url)
    try:
        for i in range(keys):
            key = f"shared-{i}" if i % 3 == 0 else f"w{worker}-{i}"
            store.put_failure(failure(key, created=float(i)))  # then its result: the failure must go
            store.put_result(result(key, created=float(i), content=f"content of {key}"))
    finally:
        store.close()


def test_several_processes_write_one_postgres_store_at_once(postgres_url):
    """Pods of one deployment: every key ends as exactly one row with its content, no error,
    and no failure left behind."""
    processes, keys = 4, 150
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_in_a_process, args=(postgres_url, w, keys)) for w in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * processes

    shared = {f"shared-{i}" for i in range(0, keys, 3)}
    own = {f"w{w}-{i}" for w in range(processes) for i in range(keys) if i % 3}
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT request_key, content FROM llm_results").fetchall()
        assert conn.execute("SELECT count(*) FROM llm_failures").fetchone() == (0,)
    assert len(rows) == len(shared | own) == len({key for key, _ in rows})
    assert {key for key, _ in rows} == shared | own
    assert all(content == f"content of {key}" for key, content in rows)


class Pair(BaseModel):
    left: str = Field(max_length=60)
    right: str = Field(max_length=60)
    score: int = Field(ge=1, le=5)


def test_a_stage_rerun_on_postgres_pays_for_nothing_twice(llm_server, postgres_url, tmp_path):
    """The LLM resource configured with the URL (as a pod would be) answers a stage through the
    real client, its batch shared by two worker processes that open the store themselves; a
    second resource (the next pod, no workers) re-runs it from the store: no new request."""
    requests = [LLMRequest(f"item-{i}", [{"role": "user", "content": f"pair words osmosis diffusion {i}"}])
                for i in range(130)]  # two shards of >= 64

    def run_stage(processes: int):
        settings = LinkSynSettings.model_validate({"data_dir": tmp_path / "data", "llm": {
            "model": llm_server.litellm_model, "api_base": llm_server.api_base, "api_key": "test-key",
            "max_retries": 3, "timeout_s": 5.0, "client_processes": processes, "result_store_url": postgres_url}})
        resource = LLMResource.from_settings(settings)
        try:
            client = resource.client()
            return client.run("pairing", "p@v1", requests, Pair), client._pool is not None
        finally:
            resource.teardown_after_execution(None)

    first, sharded = run_stage(processes=2)
    assert sharded and all(o.ok and not o.from_cache for o in first)
    paid = llm_server.stats()["requests"]
    assert paid >= 130

    again, _ = run_stage(processes=1)
    assert all(o.ok and o.from_cache for o in again)
    assert llm_server.stats()["requests"] == paid  # not one HTTP call more
    assert [o.result for o in again] == [o.result for o in first]
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM llm_results WHERE stage = 'pairing'").fetchone() == (130,)
    assert not (tmp_path / "data" / "llm_cache.sqlite").exists()


def test_a_server_that_does_not_answer_is_one_line_naming_the_setting(tmp_path):
    url = f"postgresql://linksyn:pw-planted-SECRET@127.0.0.1:{free_port()}/linksyn"
    with pytest.raises(ResultStoreUnavailable) as raised:
        open_result_store(url, tmp_path / "results.sqlite")
    message = str(raised.value)
    assert message.startswith("LINKSYN_LLM__RESULT_STORE_URL=postgresql://linksyn:**********@127.0.0.1:")
    assert "\n" not in message and "pw-planted-SECRET" not in message and "unset it" in message
    assert not Path(tmp_path / "results.sqlite").exists()  # no silent fall-back to the file


def test_only_a_postgres_url_is_accepted_and_never_echoed(tmp_path):
    with pytest.raises(ResultStoreUnavailable) as raised:
        open_result_store("mysql://u:pw-planted-SECRET@db/llm", tmp_path / "results.sqlite")
    message = str(raised.value)
    assert message.startswith("LINKSYN_LLM__RESULT_STORE_URL=mysql://u:**********@db/llm is not a Postgres URL")
    assert "pw-planted-SECRET" not in message and "\n" not in message
    assert LinkSynSettings.model_validate({"llm": {"result_store_url": " "}}).llm.result_store_url is None  # blank
