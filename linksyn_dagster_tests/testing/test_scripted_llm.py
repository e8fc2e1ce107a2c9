"""The scripted OpenAI-compatible server: schema-valid JSON through litellm, determinism,
shared vocabulary, every fault kind as a raw HTTP client sees it, counters under concurrency,
and the admin API from another process."""

from __future__ import annotations


import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from enum import Enum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Literal  # noqa: E402

import httpx  # noqa: E402
import jsonschema  # noqa: E402
import pytest  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

from linksyn_dagster.services.process import stop_process_group  # noqa: E402
from linksyn_dagster.testing.scripted_llm import (  # noqa: E402
    FAULT_KINDS,
    Fault,
    SchemaFaker,
    ScriptedLLMServer,
    _Vocabulary,
    content_words,
)

pytestmark = pytest.mark.llm

REPO = Path(__file__).resolve().parents[2]


class Discipline(str, Enum):
    mathematics = "mathematics"
    physics = "physics"
    biology = "biology"
    chemistry = "chemistry"


class KnowledgePoint(BaseModel):
    name: str = Field(max_length=60)
    discipline: Discipline


class Extraction(BaseModel):
    knowledge_points: list[KnowledgePoint] = Field(min_length=2, max_length=8)


KP_SCHEMA = Extraction.model_json_schema()
PROMPT = "Photosynthesis converts light energy into chemical energy stored in glucose inside chloroplasts."


_HTTP = httpx.Client()  # one pooled client: a fresh one per call costs ~80 ms (TLS context)


def chat(server: ScriptedLLMServer, content: str, *, schema: dict[str, Any] | None = KP_SCHEMA,
         timeout: float = 10.0, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"model": "scripted", "messages": [{"role": "user", "content": content}], **extra}
    if schema is not None:
        body["response_format"] = {"type": "json_object", "schema": schema}
    return _HTTP.post(f"{server.api_base}/chat/completions", json=body, timeout=timeout)


def content_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


# ---- structured output through litellm --------------------------------------------------------


def test_litellm_json_object_with_schema(llm_server: ScriptedLLMServer) -> None:
    reply = litellm.completion(
        model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
        messages=[{"role": "user", "content": PROMPT}],
        response_format={"type": "json_object", "schema": KP_SCHEMA},
    )
    text = reply.choices[0].message.content
    jsonschema.validate(json.loads(text), KP_SCHEMA)
    parsed = Extraction.model_validate_json(text)
    assert 2 <= len(parsed.knowledge_points) <= 8
    vocabulary = set(content_words(PROMPT))
    for kp in parsed.knowledge_points:
        assert set(kp.name.split()) <= vocabulary, kp.name  # strings come from the prompt's words
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_litellm_native_pydantic_response_format(llm_server: ScriptedLLMServer) -> None:
    # litellm turns a pydantic class into {"type": "json_schema", "json_schema": {"schema": ...}}
    reply = litellm.completion(
        model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
        messages=[{"role": "user", "content": PROMPT}], response_format=Extraction,
    )
    parsed = Extraction.model_validate_json(reply.choices[0].message.content)
    assert 2 <= len(parsed.knowledge_points) <= 8


def test_json_schema_variant_is_accepted_raw(llm_server: ScriptedLLMServer) -> None:
    response = chat(llm_server, PROMPT, schema=None,
                    response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": KP_SCHEMA}})
    jsonschema.validate(json.loads(content_of(response)), KP_SCHEMA)


def test_litellm_streaming_matches_non_streaming(llm_server: ScriptedLLMServer) -> None:
    kwargs: dict[str, Any] = dict(
        model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
        messages=[{"role": "user", "content": PROMPT}],
        response_format={"type": "json_object", "schema": KP_SCHEMA},
    )
    whole = litellm.completion(**kwargs).choices[0].message.content
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in litellm.completion(stream=True, **kwargs))
    assert streamed == whole


class Level(int, Enum):
    low = 1
    high = 5


class Leaf(BaseModel):
    label: str = Field(min_length=3, max_length=12)
    score: float = Field(ge=0.0, le=1.0)
    weight: int = Field(gt=0, lt=4)
    level: Level
    kind: Literal["a", "b"] = "a"


class Tree(BaseModel):
    title: str
    note: str | None = None
    tags: set[str] = Field(min_length=1, max_length=5)
    pair: tuple[int, str]
    leaves: list[Leaf] = Field(min_length=0, max_length=3)
    scores: dict[str, int]
    children: list[Tree] = Field(default_factory=list, max_length=2)
    flag: bool


def test_schema_faker_handles_pydantic_features() -> None:
    import random

    schema = Tree.model_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for seed in range(60):
        rng = random.Random(seed)
        value = SchemaFaker(schema, _Vocabulary(PROMPT, rng), rng).generate()
        validator.validate(value)
        Tree.model_validate(value)


# ---- determinism and shared vocabulary ---------------------------------------------------------


def test_same_request_same_reply_different_request_different_reply(llm_server: ScriptedLLMServer) -> None:
    first = content_of(chat(llm_server, PROMPT))
    assert content_of(chat(llm_server, PROMPT)) == first
    assert content_of(chat(llm_server, PROMPT + " Respiration releases it.")) != first
    plain = content_of(chat(llm_server, PROMPT, schema=None))
    assert plain == content_of(chat(llm_server, PROMPT, schema=None)) and plain.startswith("Scripted reply")


def test_prompts_sharing_words_share_strings(llm_server: ScriptedLLMServer) -> None:
    other = "Chloroplasts capture light energy; chlorophyll absorbs light for photosynthesis."

    def names(prompt: str) -> set[str]:
        return {kp["name"] for kp in json.loads(content_of(chat(llm_server, prompt)))["knowledge_points"]}

    shared = names(PROMPT) & names(other)
    assert shared, "prompts sharing content words must produce overlapping strings"
    common = set(content_words(PROMPT)) & set(content_words(other))
    assert all(set(name.split()) <= common for name in shared)


def test_rules_take_precedence_and_scripted_faults_are_spent(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(rules=[
        (r"capital of France", "Paris"),
        (r"as JSON", {"answer": 42}),
        (r"flaky", Fault("503", times=1)),
        (r"echo", lambda body: body["messages"][-1]["content"].upper()),
    ])
    assert content_of(chat(llm_server, "What is the capital of France?")) == "Paris"
    assert json.loads(content_of(chat(llm_server, "the answer as JSON", schema=None))) == {"answer": 42}
    assert chat(llm_server, "flaky one").status_code == 503
    assert chat(llm_server, "flaky one").status_code == 200
    assert content_of(chat(llm_server, "echo me", schema=None)) == "ECHO ME"


def test_reasoning_mode(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(reasoning="both")
    body = chat(llm_server, PROMPT).json()
    message = body["choices"][0]["message"]
    assert message["reasoning_content"].startswith("Let me think")
    assert message["content"].startswith("<think>\n")
    jsonschema.validate(json.loads(message["content"].split("</think>", 1)[1]), KP_SCHEMA)
    details = body["usage"]["completion_tokens_details"]
    assert 0 < details["reasoning_tokens"] < body["usage"]["completion_tokens"]

    llm_server.configure(reasoning="field")
    reply = litellm.completion(model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
                               messages=[{"role": "user", "content": PROMPT}])
    assert reply.choices[0].message.reasoning_content.startswith("Let me think")
    assert not reply.choices[0].message.content.startswith("<think>")


def test_models_endpoint(llm_server: ScriptedLLMServer) -> None:
    models = httpx.get(f"{llm_server.api_base}/models").json()
    assert [m["id"] for m in models["data"]] == ["scripted"]


# ---- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_kinds_as_seen_by_a_raw_client(llm_server: ScriptedLLMServer, kind: str) -> None:
    llm_server.configure(fault_rate=1.0, faults=[kind], max_faults_per_request=None,
                         timeout_hold_s=1.5, retry_after_s=2)
    prompt = f"{PROMPT} ({kind})"
    if kind == "reset":
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            chat(llm_server, prompt)
    elif kind == "timeout":
        with pytest.raises(httpx.ReadTimeout):
            chat(llm_server, prompt, timeout=0.5)
        # a patient client gets the connection closed without a reply
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            chat(llm_server, prompt, timeout=10)
    else:
        response = chat(llm_server, prompt)
        if kind.startswith("429"):
            assert response.status_code == 429
            assert response.json()["error"]["type"] == "rate_limit_error"
            if kind == "429":
                assert response.headers["Retry-After"] == "2"
                assert response.headers["retry-after-ms"] == "2000"
            else:
                assert "Retry-After" not in response.headers
        elif kind in ("500", "503"):
            assert response.status_code == int(kind)
        else:
            body = response.json()
            assert response.status_code == 200
            text = body["choices"][0]["message"]["content"]
            if kind == "empty":
                assert text == ""
            elif kind == "truncated_json":
                assert body["choices"][0]["finish_reason"] == "length"
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
            else:
                with pytest.raises(jsonschema.ValidationError):
                    jsonschema.validate(json.loads(text), KP_SCHEMA)
    stats = llm_server.stats()
    expected = 2 if kind == "timeout" else 1
    assert stats["faults"] == {kind: expected}
    assert stats["successes"] == 0 and stats["success_by_hash"] == {}


def test_json_only_faults_spare_plain_text_requests(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(fault_rate=1.0, faults=["truncated_json", "invalid_schema_json"])
    assert content_of(chat(llm_server, PROMPT, schema=None)).startswith("Scripted reply")
    assert llm_server.stats()["faults_total"] == 0


def test_faults_do_not_repeat_forever(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(fault_rate=1.0, faults=["500"], max_faults_per_request=2)
    statuses = [chat(llm_server, PROMPT).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    stats = llm_server.stats()
    assert stats["attempts_by_hash"] and list(stats["attempts_by_hash"].values()) == [4]
    assert list(stats["success_by_hash"].values()) == [2]


def test_fault_choice_is_deterministic_per_attempt(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(fault_rate=0.5, faults=["500", "503", "429_no_retry_after"], max_faults_per_request=None)

    def run() -> list[int]:
        llm_server.reset()
        return [chat(llm_server, f"{PROMPT} {i % 5}").status_code for i in range(30)]

    first = run()
    assert first == run()
    assert {200} < set(first)  # both faults and successes at rate 0.5


def test_litellm_retries_through_faults(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(fault_rate=1.0, faults=["500", "503", "429_no_retry_after"], max_faults_per_request=2)
    reply = litellm.completion(
        model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
        messages=[{"role": "user", "content": PROMPT}],
        response_format={"type": "json_object", "schema": KP_SCHEMA}, num_retries=3,
    )
    Extraction.model_validate_json(reply.choices[0].message.content)
    stats = llm_server.stats()
    assert stats["faults_total"] == 2 and stats["successes"] == 1 and stats["max_successes_per_request"] == 1


# ---- counters under concurrency ----------------------------------------------------------------


def test_counters_and_peak_in_flight_under_concurrency(llm_server: ScriptedLLMServer) -> None:
    llm_server.configure(latency_s=0.5)
    n = 50

    async def fire() -> list[int]:
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            async def one(i: int) -> int:
                body = {"model": "scripted", "messages": [{"role": "user", "content": f"{PROMPT} item {i}"}],
                        "response_format": {"type": "json_object", "schema": KP_SCHEMA}}
                response = await client.post(f"{llm_server.api_base}/chat/completions", json=body)
                return response.status_code

            return await asyncio.gather(*(one(i) for i in range(n)))

    started = time.monotonic()
    statuses = asyncio.run(fire())
    elapsed = time.monotonic() - started
    assert statuses == [200] * n
    stats = llm_server.stats()
    assert stats["requests"] == n and stats["successes"] == n
    assert stats["in_flight"] == 0 and stats["peak_in_flight"] == n
    assert len(stats["success_by_hash"]) == n and stats["max_successes_per_request"] == 1
    # latency overlaps instead of adding up (50 x 0.5 s serial would be 25 s)
    assert elapsed < 12.5


def test_capacity_bounds_requests_served_at_once(llm_server: ScriptedLLMServer) -> None:
    # like a serving engine's batch limit: 30 requests at once, 4 served at a time, all answered
    llm_server.configure(latency_s=0.05, capacity=4)
    n = 30

    async def fire() -> list[int]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=n), timeout=30) as client:
            async def one(i: int) -> int:
                body = {"model": "scripted", "messages": [{"role": "user", "content": f"{PROMPT} cap {i}"}]}
                return (await client.post(f"{llm_server.api_base}/chat/completions", json=body)).status_code

            return await asyncio.gather(*(one(i) for i in range(n)))

    assert asyncio.run(fire()) == [200] * n
    stats = llm_server.stats()
    assert stats["successes"] == n and stats["peak_in_flight"] == 4
    with pytest.raises(ValueError, match="capacity"):
        llm_server.configure(capacity=-1)


# ---- a separate process with the admin API ----------------------------------------------------


def test_cli_process_and_admin_endpoints(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "linksyn_dagster.testing.scripted_llm", "--port", "0", "--port-file", str(port_file),
         "--latency", "0.01"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "CLI server did not start"
            time.sleep(0.1)
        base = f"http://127.0.0.1:{int(port_file.read_text())}"
        body = {"model": "scripted", "messages": [{"role": "user", "content": PROMPT}]}
        assert httpx.post(f"{base}/v1/chat/completions", json=body).status_code == 200
        stats = httpx.get(f"{base}/_scripted/stats").json()
        assert stats["requests"] == 1 and stats["successes"] == 1

        config = httpx.post(f"{base}/_scripted/config", json={"fault_rate": 1.0, "faults": ["500"],
                                                              "latency_s": 0}).json()
        assert config["fault_rate"] == 1.0 and config["faults"] == ["500"]
        assert httpx.post(f"{base}/v1/chat/completions", json=body).status_code == 500
        assert httpx.get(f"{base}/_scripted/stats").json()["faults"] == {"500": 1}
        assert httpx.post(f"{base}/_scripted/config", json={"fault_rate": 3}).status_code == 400

        assert httpx.post(f"{base}/_scripted/reset").json() == {"ok": True}
        stats = httpx.get(f"{base}/_scripted/stats").json()
        assert stats["requests"] == 0 and stats["faults"] == {} and stats["success_by_hash"] == {}
    finally:
        stop_process_group(proc, timeout=15)
    assert proc.returncode == 0
