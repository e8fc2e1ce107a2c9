"""Pytest fixtures for the two OpenAI-compatible servers (loaded via ``pytest_plugins``).

* ``scripted_llm`` (session): one ScriptedLLMServer on a free port for the whole session.
* ``llm_server`` (function): the same server with counters reset and default behaviour
  restored, so each test sees its own stats; the synthesis, rewrite, judge and verifier
  prompts are answered by the simulated model with its default settings
  (``linksyn_dagster/testing/simulated.py``), so items have a truth the verifier can agree with.
* ``local_llm`` (session): the real llama.cpp server with SmolLM2-135M in a temp home.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch prices offline

from linksyn_dagster.services import process  # noqa: E402
from linksyn_dagster.services.llm_server import LocalLLMServer  # noqa: E402
from linksyn_dagster.testing.scripted_llm import ScriptedConfig, ScriptedLLMServer  # noqa: E402


@pytest.fixture(scope="session")
def scripted_llm() -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def llm_server(scripted_llm: ScriptedLLMServer) -> Iterator[ScriptedLLMServer]:
    # a test may change latency/faults/rules; every test starts from defaults and zero counters
    scripted_llm.configure(rules=[], **{**asdict(ScriptedConfig()), "simulate": {}})
    scripted_llm.reset()
    yield scripted_llm
    scripted_llm.configure(rules=[], **asdict(ScriptedConfig()))


@pytest.fixture(scope="session")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLMServer]:
    home = tmp_path_factory.mktemp("llm_server")
    server = LocalLLMServer(home, port=process.free_port(), threads=2, n_ctx=4096)
    try:
        server.start(timeout=180)
    except process.ServiceError as exc:
        # the model is a hard dependency of the project: fail loudly rather than skip
        pytest.fail(f"local llama.cpp server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
