"""The language model as a Dagster resource.

Without a ``model`` (LINKSYN_LLM__MODEL) the resource starts (or reuses) the small local model served
by llama.cpp on loopback, so the pipeline runs offline. With a model id, the same code path
talks to any litellm provider or self-hosted OpenAI-compatible endpoint.
"""

# no `from __future__ import annotations`: Dagster reads the ResourceDependency annotation at class creation
import logging
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr

from linksyn_dagster.llm.store import ResultStore, open_result_store
from linksyn_dagster.resources.settings import Secret, ServiceResource
from linksyn_dagster.settings import LinkSynSettings, LLMSettings

if TYPE_CHECKING:  # litellm is imported on first use: loading the definitions does not pay for it
    from linksyn_dagster.llm.client import LLMClient


class LLMResource(ServiceResource):
    """The model every LLM stage calls, and the result store of its answers: the SQLite file
    under ``data_dir``, or the Postgres database of ``LINKSYN_LLM__RESULT_STORE_URL``."""

    SECTION, SECRETS = "llm", ("api_key", "result_store_url")

    llm: dict[str, Any] = Field(default_factory=dict, description="model, endpoints, limits and prices "
                                "(LINKSYN_LLM__*, without the API key and the result store's URL)")
    api_key: dg.ResourceDependency[Secret]  # not config: see Secret
    result_store_url: dg.ResourceDependency[Secret]  # holds the Postgres password, when set

    _store: ResultStore | None = PrivateAttr(default=None)
    _clients: "list[LLMClient]" = PrivateAttr(default_factory=list)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for client in self._clients:
            client.close()  # worker processes, if the client started any
        self._clients.clear()
        if self._store is not None:
            self._store.close()

    @property
    def llm_settings(self) -> LLMSettings:
        """The model's settings these fields describe, the API key included (a ``SecretStr``:
        masked when printed or dumped)."""
        return self._config.llm

    @property
    def store(self) -> ResultStore:
        if self._store is None:
            url = self._config.llm.result_store_url
            self._store = open_result_store(url.get_secret_value() if url else None, self._config.llm_cache_path)
        return self._store

    @property
    def max_failure_share(self) -> float:
        """The share of a stage's requests that may fail before its yield check fails it."""
        return self._config.llm.max_failure_share

    @property
    def low_yield_blocks(self) -> bool:
        """Whether a failed yield check stops what follows (ERROR) or only warns (WARN)."""
        return self._config.llm.low_yield_blocks

    def client(self, logger: logging.Logger | None = None, model: str | None = None) -> "LLMClient":
        """A client of the configured model, or of ``model`` (a litellm id, same endpoints
        and limits) when given, e.g. an independent verifier."""
        settings = self._config
        if model and model != settings.llm.model:
            settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"model": model})})
        client = build_client(settings, self.store, logger)
        self._clients.append(client)
        return client


def build_client(settings: LinkSynSettings, store: ResultStore, logger: logging.Logger | None = None) -> "LLMClient":
    from linksyn_dagster.llm.client import ClientConfig, LLMClient

    llm = settings.llm
    if llm.model:
        model, api_base = llm.model, llm.api_base
        structured, max_tokens, concurrency = llm.structured_output, llm.max_tokens, llm.concurrency
    else:
        from linksyn_dagster.services.llm_server import LocalLLMServer

        server = LocalLLMServer.from_settings(settings)
        server.ensure_running()
        model, api_base = server.litellm_model, server.api_base
        structured = "json_object_schema"  # llama.cpp: JSON schema turned into a grammar
        max_tokens = min(llm.max_tokens, llm.local_max_tokens)
        # llama.cpp's server answers one request at a time: more in flight only queue, and
        # queued time counts against each call's timeout
        concurrency = min(llm.concurrency, 2)
    api_key = llm.api_key.get_secret_value() if llm.api_key else ("none" if api_base else None)
    endpoints = list(dict.fromkeys([*([api_base] if api_base else []), *llm.api_bases])) if llm.model else [api_base]
    router_config = None
    if llm.model and (len(endpoints) > 1 or llm.fallback_models):
        router_config = router_settings(model, endpoints, api_key, concurrency, llm.fallback_models,
                                        llm.routing_strategy, llm.timeout_s)
        concurrency *= max(1, len(endpoints))  # the adaptive limit's ceiling: every endpoint full
    config = ClientConfig(
        model, api_base=api_base, api_key=api_key, temperature=llm.temperature, max_tokens=max_tokens,
        timeout_s=llm.timeout_s, max_retries=llm.max_retries, concurrency=concurrency, structured_output=structured,
        budget_usd=llm.budget_usd, router_config=router_config, price_per_token=llm.price_per_token,
        processes=llm.client_processes if llm.model else 1,
    )
    return LLMClient(config, store, logger=logger)


def router_settings(model: str, endpoints: list[str | None], api_key: str | None, per_endpoint: int,
                    fallback_models: list[str], strategy: str, timeout_s: float) -> dict[str, Any]:
    """Keyword arguments of a litellm Router with one deployment of ``model`` per endpoint (at most
    ``per_endpoint`` calls in flight on each) and ``fallback_models`` behind them. Retries
    stay with LLMClient (backoff, Retry-After, repair turns), so the Router does none; an
    endpoint that fails is cooled down for a few seconds and the others take its calls."""
    deployments = []
    for endpoint in endpoints:
        params: dict[str, Any] = {"model": model, "max_parallel_requests": per_endpoint, "timeout": timeout_s}
        if endpoint:
            params["api_base"] = endpoint
        if api_key:
            params["api_key"] = api_key
        deployments.append({"model_name": model, "litellm_params": params})
    for fallback in fallback_models:
        name, _, base = fallback.partition("@")  # "model" or "model@http://host/v1"
        params: dict[str, Any] = {"model": name, "timeout": timeout_s}
        if base:  # a self-hosted fallback shares the primary's key; a hosted one uses its provider's env
            params.update(api_base=base, **({"api_key": api_key} if api_key else {}))
        deployments.append({"model_name": fallback, "litellm_params": params})
    return dict(
        model_list=deployments, routing_strategy=strategy, num_retries=0,
        fallbacks=[{model: list(fallback_models)}] if fallback_models else [],
        allowed_fails=1, cooldown_time=5.0,
    )
