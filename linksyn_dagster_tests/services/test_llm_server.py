"""The local llama.cpp server with SmolLM2-135M: schema-constrained JSON through litellm,
status, stop, and the one-line errors."""

from __future__ import annotations


import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
from enum import Enum  # noqa: E402
from pathlib import Path  # noqa: E402

import jsonschema  # noqa: E402
import pytest  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

from linksyn_dagster.services import llm_server as llm_server_module  # noqa: E402
from linksyn_dagster.services import process  # noqa: E402
from linksyn_dagster.services.llm_server import LocalLLMServer, find_model_file  # noqa: E402
from linksyn_dagster.settings import LinkSynSettings  # noqa: E402

pytestmark = pytest.mark.llm


class Discipline(str, Enum):
    mathematics = "mathematics"
    physics = "physics"
    biology = "biology"
    chemistry = "chemistry"
    history = "history"


class KnowledgePoint(BaseModel):
    # bounded strings keep the grammar-constrained reply well inside max_tokens
    name: str = Field(min_length=1, max_length=40)
    discipline: Discipline


class Extraction(BaseModel):
    knowledge_points: list[KnowledgePoint] = Field(min_length=2, max_length=8)


SCHEMA = Extraction.model_json_schema()


def test_model_file_ships_with_the_package() -> None:
    path = find_model_file()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_from_settings(tmp_path: Path) -> None:
    settings = LinkSynSettings(data_dir=tmp_path, llm={"local_port": 18123, "local_threads": 1})
    server = LocalLLMServer.from_settings(settings)
    assert server.home == settings.llm_server_dir and server.port == 18123 and server.threads == 1
    assert server.api_base == "http://127.0.0.1:18123/v1"
    assert server.litellm_model == "openai/smollm2-135m-instruct"
    assert server.status()["running"] is False


def test_litellm_gets_schema_valid_json(local_llm: LocalLLMServer) -> None:
    reply = litellm.completion(
        model=local_llm.litellm_model, api_base=local_llm.api_base, api_key="x",
        messages=[
            {"role": "system", "content": "Extract the knowledge points of the question as JSON."},
            {"role": "user", "content": "Question: Why does ice float on water? Explain using density."},
        ],
        response_format={"type": "json_object", "schema": SCHEMA},
        temperature=0.2, max_tokens=400, timeout=120,
    )
    text = reply.choices[0].message.content
    data = json.loads(text)
    jsonschema.validate(data, SCHEMA)
    assert 2 <= len(Extraction.model_validate(data).knowledge_points) <= 8
    assert reply.usage.completion_tokens > 0


def test_native_pydantic_response_format_is_rejected(local_llm: LocalLLMServer) -> None:
    # documents why callers must send {"type": "json_object", "schema": ...} to llama.cpp:
    # litellm turns a pydantic class into type "json_schema", which the server refuses (422)
    with pytest.raises(Exception, match="json_object"):
        litellm.completion(
            model=local_llm.litellm_model, api_base=local_llm.api_base, api_key="x",
            messages=[{"role": "user", "content": "List two knowledge points."}],
            response_format=Extraction, max_tokens=50, num_retries=0,
        )


def test_status_of_running_server(local_llm: LocalLLMServer) -> None:
    status = local_llm.status()
    assert status["running"] and status["responding"] and status["pid"]
    assert status["api_base"] == local_llm.api_base
    # start/ensure_running on a running server reuse it
    assert local_llm.ensure_running().status()["pid"] == status["pid"]
    assert local_llm.start().status()["pid"] == status["pid"]


def test_start_and_stop(tmp_path: Path) -> None:
    server = LocalLLMServer(tmp_path / "llm", port=process.free_port(), threads=1, n_ctx=512)
    server.start(timeout=180)
    try:
        pid = server.status()["pid"]
        assert pid and process.port_open("127.0.0.1", server.port)
    finally:
        server.stop()
    status = server.status()
    assert status["running"] is False and status["responding"] is False
    assert not process.pid_alive(pid) and not process.port_open("127.0.0.1", server.port)
    assert not server.pid_file.exists()
    server.stop()  # idempotent


def test_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(process.ServiceError, match=f"port {port} .* in use"):
            LocalLLMServer(tmp_path, port=port).start(timeout=10)


def test_missing_packages_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_server_module, "_SERVER_MODULES", ("llama_cpp_not_installed_here",))
    with pytest.raises(process.ServiceError, match=r"pip install 'llama-cpp-python\[server\]'"):
        LocalLLMServer(tmp_path, port=process.free_port()).start(timeout=5)

    monkeypatch.undo()
    monkeypatch.setattr(llm_server_module, "MODEL_PACKAGE", "no_such_model_package")
    monkeypatch.setattr(llm_server_module, "MODEL_DISTRIBUTION", "no-such-model-package")
    with pytest.raises(process.ServiceError, match="no .gguf found"):
        LocalLLMServer(tmp_path, port=process.free_port()).start(timeout=5)
