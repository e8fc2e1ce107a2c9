"""Worker processes that share one client's large batch: each asks its share of the calls
with its share of the concurrency limit (and of every Router endpoint's in-flight cap) and
of the budget, writes the same result store, and sends its progress ticks back. Only worth
it when litellm's few milliseconds of CPU per call, not the endpoint, limit the rate."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from linksyn_dagster.llm.store import open_result_store
from linksyn_dagster.llm.types import LLMOutcome, LLMRequest

if TYPE_CHECKING:
    from linksyn_dagster.llm.client import ClientConfig

SHARD_MIN = 64  # calls per worker process below which sharding is not worth its start-up


class ShardPool:
    """A client's worker processes: started on its first sharded batch, kept for the later ones."""

    def __init__(self, processes: int):
        import concurrent.futures
        import multiprocessing

        self.processes = processes
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._ticks = context.Queue()
        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_worker_init, initargs=(self._ticks,))

    def ask(self, config: ClientConfig, store_at: tuple[str | None, Path | None], concurrency: int,
            budget: float | None, stage: str, prompt_version: str, items: list[tuple[str, LLMRequest]],
            schema_model: type[BaseModel], tick: Callable[[bool], None]) -> Iterator[tuple[dict[str, LLMOutcome], float, int]]:
        """Deal ``items`` out to the workers (``concurrency`` and ``budget`` shared out too) and
        pass their progress ticks on to ``tick`` until all are done; then yields each worker's
        answers by key, USD spent and items the budget left unasked, in worker order (a
        worker's error is raised in its turn)."""
        import queue as queue_module

        k = self.processes
        futures = [
            self._executor.submit(_worker_run, config, store_at, index, k, concurrency, budget, stage,
                                  prompt_version, items[index::k], schema_model)
            for index in range(k)
        ]
        pending = set(futures)
        while pending:
            try:
                tick(self._ticks.get(timeout=0.2))
            except queue_module.Empty:
                pass
            pending = {f for f in pending if not f.done()}
        for future in futures:
            yield future.result()  # re-raises a worker's error
        while True:  # ticks still queued after the last worker finished
            try:
                tick(self._ticks.get_nowait())
            except queue_module.Empty:
                break

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _split(total: int, index: int, parts: int) -> int:
    """Share ``index`` of ``total`` dealt out over ``parts`` (shares sum to ``total``, each >= 1)."""
    return max(1, total // parts + (1 if index < total % parts else 0))


_TICKS: Any = None  # progress queue of a worker process


def _worker_init(ticks: Any) -> None:
    global _TICKS
    _TICKS = ticks


def _worker_run(config: ClientConfig, store_at: tuple[str | None, Path | None], index: int, parts: int,
                concurrency: int, budget: float | None, stage: str, prompt_version: str,
                items: list[tuple[str, LLMRequest]], schema_model: type[BaseModel]) -> tuple[dict[str, LLMOutcome], float, int]:
    """One shard of a batch, in a worker process: its share of the limit and budget."""
    from linksyn_dagster.llm.client import LLMClient  # the client module imports this one

    router_config = config.router_config
    if router_config is not None:  # each endpoint's in-flight cap is shared out too
        router_config = {**router_config, "model_list": [
            {**d, "litellm_params": {**d["litellm_params"], **(
                {"max_parallel_requests": _split(d["litellm_params"]["max_parallel_requests"], index, parts)}
                if "max_parallel_requests" in d["litellm_params"] else {})}}
            for d in router_config["model_list"]]}
    config = dataclasses.replace(config, router_config=router_config, concurrency=_split(concurrency, index, parts),
                                 budget_usd=None if budget is None else budget / parts, processes=1)
    store = open_result_store(*store_at)  # (Postgres URL, SQLite path): the client's own store
    client = LLMClient(config, store)
    try:
        answers, skipped = client.ask(stage, prompt_version, items, schema_model, _TICKS.put)
    finally:
        client.close()
        store.close()
    return answers, client.spent_usd, skipped
