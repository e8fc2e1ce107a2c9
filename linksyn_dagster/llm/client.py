"""The one way LinkSyn calls a model: litellm over HTTP, bounded concurrency, retries with
backoff, schema validation with a repair turn, a durable result per item, and a failure
record for every item that could not be done. Nothing here knows about Dagster.

This module holds the client's settings (``ClientConfig``), the request key and the retry
loop; ``replies`` parses what the model answers, ``limit`` holds the adaptive concurrency
limit and ``sharding`` the worker processes that share a large batch."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal, Sequence

from pydantic import BaseModel

from linksyn_dagster.llm.limit import AdaptiveLimit
from linksyn_dagster.llm.provider import litellm_api
from linksyn_dagster.llm.replies import InvalidReply, parse_reply, split_reasoning
from linksyn_dagster.llm.sharding import SHARD_MIN, ShardPool
from linksyn_dagster.llm.store import ResultStore, StoredFailure, StoredResult, now
from linksyn_dagster.llm.types import LLMOutcome, LLMRequest

StructuredOutput = Literal["json_object_schema", "json_schema", "json_object", "none"]


class LLMConfigurationError(RuntimeError):
    """The endpoint refuses us as a whole (bad key, unknown model): no item can succeed."""


class BudgetExhausted(RuntimeError):
    """The spending cap was reached: calls already answered are saved, the rest not asked."""


class _NotAsked(Exception):
    """Raised inside a call slot when the budget is spent: the item is left for a later run."""


@dataclass
class _Attempt:
    content: str
    reasoning: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: float


def request_key(model: str, prompt_version: str, messages: Sequence[dict[str, str]], schema: dict) -> str:
    body = json.dumps({"messages": list(messages), "schema": schema}, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{model}\0{prompt_version}\0{body}".encode()).hexdigest()
    return digest[:32]


# llama.cpp expands maxLength into nested optional repetitions and refuses grammars past a
# size limit (a 1200-character cap is far past it); long caps are left to pydantic.
GRAMMAR_MAX_LENGTH = 120


def grammar_friendly(schema: Any) -> Any:
    """The schema a constrained decoder is given: long ``maxLength`` caps dropped."""
    if isinstance(schema, dict):
        return {key: grammar_friendly(value) for key, value in schema.items()
                if not (key == "maxLength" and isinstance(value, int) and value > GRAMMAR_MAX_LENGTH)}
    if isinstance(schema, list):
        return [grammar_friendly(item) for item in schema]
    return schema


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ClientConfig:
    """What a client calls and how. ``router_config``: keyword arguments of a ``litellm.Router``
    whose model group ``model`` spreads calls over several endpoints (with fallbacks);
    ``api_base`` and ``api_key`` are then unused. ``price_per_token``: (input, output) USD per
    token for a model litellm has no price for (a self-hosted endpoint priced by its GPU
    hours); unset, such a model costs 0. ``processes``: worker processes that share a large
    batch (and the concurrency limit and budget) when litellm's per-call CPU work, not the
    endpoint, is the bottleneck; see ``LLMClient.run``. Keys never show in its repr."""

    model: str
    _: KW_ONLY
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.7
    max_tokens: int = 1024
    timeout_s: float = 120.0
    max_retries: int = 3
    max_repairs: int = 1
    concurrency: int = 4
    structured_output: StructuredOutput = "json_object_schema"
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    progress_every_s: float = 10.0
    budget_usd: float | None = None
    router_config: dict[str, Any] | None = field(default=None, repr=False)  # its deployments carry the key
    price_per_token: tuple[float, float] | None = None
    processes: int = 1


class LLMClient:
    def __init__(self, config: ClientConfig, store: ResultStore, logger: logging.Logger | None = None):
        self.config = config
        self.store = store
        self._router: Any | None = None
        self.log = logger or logging.getLogger("linksyn.llm")
        self.spent_usd = 0.0  # paid by this client's fresh calls (answers from the store cost nothing)
        self.limiter: AdaptiveLimit | None = None
        self._pool: ShardPool | None = None
        self._writer: Any | None = None  # one thread commits results, in call order

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def concurrency(self) -> int:
        return max(1, self.config.concurrency)

    @property
    def processes(self) -> int:
        return max(1, self.config.processes)

    def __repr__(self) -> str:  # never show the key
        return f"LLMClient(model={self.model!r}, api_base={self.config.api_base!r})"

    @property
    def router(self) -> Any | None:
        """The litellm Router, built on first use (each worker process builds its own)."""
        if self._router is None and self.config.router_config is not None:
            self._router = litellm_api().module.Router(**self.config.router_config)
        return self._router

    # -- public -------------------------------------------------------------------------

    def run(self, stage: str, prompt_version: str, requests: Sequence[LLMRequest],
            schema_model: type[BaseModel]) -> list[LLMOutcome]:
        """Answer every request: from the store when already paid for, else from the model.
        Returns one outcome per request, in order; failed items carry a failure record.

        With ``processes > 1`` and at least ``SHARD_MIN`` calls to make per process, the
        calls are dealt out to that many worker processes (started once per client, kept
        for its later batches); each has its share of the concurrency limit (and of the
        in-flight cap of every Router endpoint) and of the budget, writes the same result
        store, and reports progress here. Only worth it when litellm's few milliseconds of
        CPU per call limit the rate (hundreds of calls per second against a fleet)."""
        plan = self._plan(prompt_version, requests, schema_model)
        progress = _Progress(stage, len(plan.todo), plan.cached_count, self.log, self.config.progress_every_s)
        items = [(key, requests[indices[0]]) for key, indices in plan.todo.items()]
        if self.processes > 1 and len(items) >= self.processes * SHARD_MIN:
            answers, skipped = self._ask_sharded(stage, prompt_version, items, schema_model, progress)
        else:
            answers, skipped = self.ask(stage, prompt_version, items, schema_model, progress.tick)
        return self._finish(stage, plan, requests, answers, skipped, progress)

    async def arun(self, stage: str, prompt_version: str, requests: Sequence[LLMRequest],
                   schema_model: type[BaseModel]) -> list[LLMOutcome]:
        """``run`` inside a running event loop (always in this process)."""
        plan = self._plan(prompt_version, requests, schema_model)
        progress = _Progress(stage, len(plan.todo), plan.cached_count, self.log, self.config.progress_every_s)
        items = [(key, requests[indices[0]]) for key, indices in plan.todo.items()]
        answers, skipped = await self._ask_all(stage, prompt_version, items, schema_model, progress.tick)
        return self._finish(stage, plan, requests, answers, skipped, progress)

    def ask(self, stage: str, prompt_version: str, items: Sequence[tuple[str, LLMRequest]],
            schema_model: type[BaseModel], tick: Any) -> tuple[dict[str, LLMOutcome], int]:
        """Ask every (key, request) in this process, in a fresh event loop: the outcomes by key
        and how many were not asked because the budget ran out (a worker process's share)."""
        return _run_loop(self._ask_all(stage, prompt_version, items, schema_model, tick))

    def close(self) -> None:
        """Stop the worker processes and the writer thread, if any were started."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- planning and fan-out ---------------------------------------------------------------

    def _plan(self, prompt_version: str, requests: Sequence[LLMRequest], schema_model: type[BaseModel]) -> _Plan:
        schema = schema_model.model_json_schema()
        keys = [request_key(self.model, prompt_version, r.messages, schema) for r in requests]
        cached = self.store.get_many(keys)
        # identical requests in one batch are asked once and share the answer
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key not in cached:
                todo.setdefault(key, []).append(i)
        return _Plan(keys, cached, todo)

    def _finish(self, stage: str, plan: _Plan, requests: Sequence[LLMRequest], answers: dict[str, LLMOutcome],
                skipped: int, progress: _Progress) -> list[LLMOutcome]:
        progress.finish()
        if skipped:
            raise BudgetExhausted(
                f"{stage}: budget of ${self.config.budget_usd:.4f} reached (${self.spent_usd:.4f} spent); "
                f"{skipped} item(s) not asked, every answered item is saved; raise LINKSYN_LLM__BUDGET_USD "
                "and re-run to continue")
        outcomes = []
        for request, key in zip(requests, plan.keys):
            if key in plan.cached:
                outcomes.append(LLMOutcome(request.item_id, key, plan.cached[key], None, True))
            else:
                answer = answers[key]
                outcomes.append(LLMOutcome(request.item_id, key, answer.result, answer.failure, False))
        return outcomes

    async def _ask_all(self, stage: str, prompt_version: str, items: Sequence[tuple[str, LLMRequest]],
                       schema_model: type[BaseModel], tick: Any) -> tuple[dict[str, LLMOutcome], int]:
        """Ask every (key, request) with bounded concurrency; returns the outcomes by key and
        how many were not asked because the budget ran out."""
        schema = schema_model.model_json_schema()
        self.limiter = AdaptiveLimit(self.concurrency)
        answers: dict[str, LLMOutcome] = {}
        skipped = 0
        if items:
            # litellm (seconds of imports) is set up here, before the first call: a run whose
            # every answer is in the store never loads it
            litellm_api()

        async def one(key: str, request: LLMRequest) -> None:
            nonlocal skipped
            try:
                outcome = await self._answer(stage, prompt_version, request, key, schema_model, schema)
            except _NotAsked:
                skipped += 1  # nothing recorded: a later run asks it
                return
            answers[key] = outcome
            tick(outcome.ok)

        tasks = [asyncio.create_task(one(key, request)) for key, request in items]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return answers, skipped

    def _ask_sharded(self, stage: str, prompt_version: str, items: list[tuple[str, LLMRequest]],
                     schema_model: type[BaseModel], progress: _Progress) -> tuple[dict[str, LLMOutcome], int]:
        """``ask``, dealt out to the client's worker processes (see ``run``)."""
        if self._pool is None:
            self._pool = ShardPool(self.processes)
        budget = self.config.budget_usd
        remaining = None if budget is None else max(0.0, budget - self.spent_usd)
        answers: dict[str, LLMOutcome] = {}
        skipped = 0
        for shard_answers, spent, shard_skipped in self._pool.ask(
                self.config, (self.store.url, self.store.path), self.concurrency, remaining, stage, prompt_version,
                items, schema_model, progress.tick):
            answers.update(shard_answers)
            self.spent_usd += spent
            skipped += shard_skipped
        return answers, skipped

    # -- one item -----------------------------------------------------------------------

    async def _answer(self, stage: str, prompt_version: str, request: LLMRequest, key: str,
                      schema_model: type[BaseModel], schema: dict) -> LLMOutcome:
        api = litellm_api()
        messages = list(request.messages)
        totals = _Attempt("", None, 0, 0, 0, 0.0)
        attempts, repairs = 0, 0
        started = time.monotonic()
        last_error: BaseException | None = None
        while True:
            attempts += 1
            assert self.limiter is not None
            try:
                async with self.limiter.slot() as verdict:
                    if self.config.budget_usd is not None and self.spent_usd >= self.config.budget_usd:
                        raise _NotAsked
                    try:
                        attempt = await self._complete(messages, schema_model, schema)
                    except api.overload:
                        verdict["overloaded"] = True
                        raise
                    verdict["ok"] = True
                self.spent_usd += attempt.cost_usd
            except api.fatal as exc:
                raise LLMConfigurationError(f"{self.model}: {type(exc).__name__}: {_short(exc)}") from None
            except api.retryable as exc:
                last_error = exc
                if _fleet_saturated(exc) and time.monotonic() - started < self.config.timeout_s:
                    # the Router found every endpoint at its in-flight cap (e.g. one is down
                    # and cooling off): nothing was sent, so this is a wait, not an attempt
                    attempts -= 1
                    await asyncio.sleep(random.uniform(0.02, 0.1))
                    continue
                if attempts > self.config.max_retries + repairs:
                    break
                await asyncio.sleep(self._backoff(attempts - repairs, _retry_after(exc)))
                continue
            except api.bad_request as exc:
                last_error = exc
                break
            totals.prompt_tokens += attempt.prompt_tokens
            totals.completion_tokens += attempt.completion_tokens
            totals.reasoning_tokens += attempt.reasoning_tokens
            totals.cost_usd += attempt.cost_usd
            try:
                parsed = parse_reply(attempt.content, schema_model)
            except InvalidReply as exc:
                last_error = exc
                if exc.not_json:  # empty or cut off: ask the same again
                    if attempts > self.config.max_retries + repairs:
                        break
                    await asyncio.sleep(self._backoff(attempts - repairs, None))
                    continue
                if repairs >= self.config.max_repairs:
                    break
                repairs += 1
                # a repair turn: show the model its own reply and what was wrong with it
                messages = [*request.messages,
                            {"role": "assistant", "content": attempt.content[:4000]},
                            {"role": "user", "content": f"That reply was invalid: {exc}. "
                             "Reply again with one JSON object only, matching the schema exactly."}]
                continue
            result = StoredResult(
                request_key=key, stage=stage, item_id=request.item_id, model=self.model,
                prompt_version=prompt_version, content=attempt.content, reasoning=attempt.reasoning,
                parsed_json=parsed.model_dump_json(), prompt_tokens=totals.prompt_tokens,
                completion_tokens=totals.completion_tokens, reasoning_tokens=totals.reasoning_tokens,
                cost_usd=totals.cost_usd, latency_s=time.monotonic() - started, attempts=attempts,
                created_at=now(),
            )
            await self._write(self.store.put_result, result)  # durable before anyone else sees it
            return LLMOutcome(request.item_id, key, result, None, False)
        failure = StoredFailure(
            request_key=key, stage=stage, item_id=request.item_id, model=self.model,
            prompt_version=prompt_version, error_class=type(last_error).__name__,
            message=_short(last_error), attempts=attempts, created_at=now(),
        )
        await self._write(self.store.put_failure, failure)
        return LLMOutcome(request.item_id, key, None, failure, False)

    async def _write(self, put: Any, record: Any) -> None:
        """Commit one record on the client's writer thread: SQLite waits out another
        process's write lock by sleeping, which must not stall every call in the event loop."""
        if self._writer is None:
            import concurrent.futures

            self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-store")
        await asyncio.get_running_loop().run_in_executor(self._writer, put, record)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.backoff_max_s)
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads a 429 storm out

    def _response_format(self, schema_model: type[BaseModel], schema: dict) -> Any:
        structured = self.config.structured_output
        if structured == "json_object_schema":
            return {"type": "json_object", "schema": grammar_friendly(schema)}
        if structured == "json_schema":
            return schema_model
        if structured == "json_object":
            return {"type": "json_object"}
        return None

    async def _complete(self, messages: list[dict[str, str]], schema_model: type[BaseModel],
                        schema: dict) -> _Attempt:
        config = self.config
        kwargs: dict[str, Any] = dict(
            model=config.model, messages=messages, temperature=config.temperature,
            max_tokens=config.max_tokens, timeout=config.timeout_s, max_retries=0, num_retries=0,
        )
        if config.price_per_token is not None:
            kwargs.update(input_cost_per_token=config.price_per_token[0],
                          output_cost_per_token=config.price_per_token[1])
        response_format = self._response_format(schema_model, schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        if self.router is not None:
            response = await self.router.acompletion(**kwargs)
        else:
            if config.api_base:
                kwargs["api_base"] = config.api_base
            if config.api_key:
                kwargs["api_key"] = config.api_key
            response = await litellm_api().module.acompletion(**kwargs)
        message = response.choices[0].message
        content, reasoning = split_reasoning(message.content,
                                             getattr(message, "reasoning_content", None))
        usage = getattr(response, "usage", None)
        details = getattr(usage, "completion_tokens_details", None)
        # litellm prices every response once already (offline cost map, or the custom price
        # passed in); models without a price (local ones) cost nothing we can know
        hidden = getattr(response, "_hidden_params", None)
        priced = hidden.get("response_cost") if hasattr(hidden, "get") else getattr(hidden, "response_cost", None)
        cost = float(priced or 0.0)
        return _Attempt(
            content=content, reasoning=reasoning,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            reasoning_tokens=int(getattr(details, "reasoning_tokens", 0) or 0),
            cost_usd=cost,
        )


@dataclass
class _Plan:
    keys: list[str]
    cached: dict[str, StoredResult]
    todo: dict[str, list[int]]  # request key -> indices of the requests that share it

    @property
    def cached_count(self) -> int:
        return len(self.keys) - sum(map(len, self.todo.values()))


def _run_loop(coroutine: Any) -> Any:
    """Run a batch in a fresh event loop with the garbage collector's young generation
    made larger: litellm allocates thousands of short-lived objects per call, and the
    default threshold (700) has the collector run several times per call (about 10% of
    the batch's CPU)."""
    import gc

    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        return asyncio.run(coroutine)
    finally:
        gc.set_threshold(*threshold)


def _fleet_saturated(exc: BaseException) -> bool:
    """litellm's Router refusing locally because every deployment is at its
    ``max_parallel_requests``: no request reached an endpoint."""
    api = litellm_api()
    return isinstance(exc, api.router_cooldown) or (
        isinstance(exc, api.module.RateLimitError) and "max_parallel_requests" in str(exc))


def _short(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc is not None else "unknown error"
    return text[:500]


class _Progress:
    """Logs done/total, rate, ETA and failures at a steady cadence."""

    def __init__(self, stage: str, total: int, cached: int, log: logging.Logger, every_s: float):
        self.stage, self.total, self.cached, self.log, self.every_s = stage, total, cached, log, every_s
        self.done = self.failed = 0
        self.started = self.last = time.monotonic()
        if total or cached:
            log.info(f"{stage}: {total} call(s) to make, {cached} answered from the result store")

    def tick(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if time.monotonic() - self.last >= self.every_s:
            self.last = time.monotonic()
            self.log.info(self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (f"{self.stage}: {self.done}/{self.total} done, {rate:.2f}/s, "
                f"ETA {eta:.0f}s, {self.failed} failed")

    def finish(self) -> None:
        if self.total:
            self.log.info(self.line())


