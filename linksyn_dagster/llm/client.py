"""The one way LinkSyn calls a model: litellm over HTTP, bounded concurrency, retries with
backoff, schema validation with a repair turn, a durable result per item, and a failure
record for every item that could not be done. Nothing here knows about Dagster."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ValidationError

from linksyn_dagster.llm.provider import litellm_api
from linksyn_dagster.llm.store import ResultStore, StoredFailure, StoredResult, now
from linksyn_dagster.llm.types import LLMOutcome, LLMRequest

StructuredOutput = Literal["json_object_schema", "json_schema", "json_object", "none"]

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)


class LLMConfigurationError(RuntimeError):
    """The endpoint refuses us as a whole (bad key, unknown model): no item can succeed."""


class InvalidReply(ValueError):
    """The model answered, but not with JSON valid against the schema. ``not_json`` (empty or
    cut-off content) is worth a plain retry; a schema violation is worth a repair turn."""

    def __init__(self, message: str, not_json: bool):
        super().__init__(message)
        self.not_json = not_json


class BudgetExhausted(RuntimeError):
    """The spending cap was reached: calls already answered are saved, the rest not asked."""


class _NotAsked(Exception):
    """Raised inside a call slot when the budget is spent: the item is left for a later run."""


class AdaptiveLimit:
    """AIMD concurrency with paced starts.

    * At most ``limit`` calls in flight, never above ``ceiling``. An overload answer (429,
      503) halves the limit (at most once per ``cooldown_s``, so one burst of 429s is one
      cut); every ``limit`` successes add one back.
    * Starts are paced: two calls start at least ``latency / (pace_factor · limit)`` apart,
      ``latency`` being the moving average of successful calls. At the steady rate
      (``limit`` calls per latency) that never delays anything; what it prevents is a
      platoon: N calls started in one burst come back in one burst, and their client-side
      work (litellm's parsing, cost, logging: milliseconds each) queues in the event loop,
      so every later wave starts late again. Endpoints also prefer smooth arrivals to
      bursts. The first wave is not paced (no latency is known yet).
    """

    def __init__(self, ceiling: int, cooldown_s: float = 1.0, pace_factor: float = 2.0):
        self.ceiling = self.limit = max(1, ceiling)
        self.cooldown_s = cooldown_s
        self.pace_factor = pace_factor
        self.in_flight = self.peak = self.cuts = 0
        self.latency_s: float | None = None  # moving average of successful calls
        self._successes = 0
        self._last_cut = float("-inf")
        self._next_start = 0.0
        self._cond = asyncio.Condition()

    def _spacing(self) -> float:
        if self.latency_s is None or self.pace_factor <= 0:
            return 0.0
        return self.latency_s / (self.pace_factor * self.limit)

    @contextlib.asynccontextmanager
    async def slot(self):
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            start = max(time.monotonic(), self._next_start)
            self._next_start = start + self._spacing()
        verdict = {"ok": False, "overloaded": False}
        try:
            delay = start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.monotonic()
            yield verdict
        finally:
            async with self._cond:
                self.in_flight -= 1
                now = time.monotonic()
                if verdict["overloaded"] and now - self._last_cut >= self.cooldown_s:
                    self.limit, self._last_cut, self._successes = max(1, self.limit // 2), now, 0
                    self.cuts += 1
                elif verdict["ok"]:
                    took = now - started
                    self.latency_s = took if self.latency_s is None else 0.8 * self.latency_s + 0.2 * took
                    self._successes += 1
                    if self._successes >= self.limit and self.limit < self.ceiling:
                        self.limit, self._successes = self.limit + 1, 0
                self._cond.notify(self.limit - self.in_flight)


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


def split_reasoning(content: str | None, reasoning: str | None) -> tuple[str, str | None]:
    """Separate an R1-style ``<think>`` block from the answer; keep provider reasoning."""
    content = content or ""
    thoughts = [m.strip() for m in _THINK.findall(content)]
    if thoughts:
        content = _THINK.sub("", content).strip()
    parts = [p for p in [reasoning, *thoughts] if p]
    return content, ("\n\n".join(parts) if parts else None)


def parse_reply(content: str, schema_model: type[BaseModel]) -> BaseModel:
    text = content.strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise InvalidReply(f"reply is not JSON: {content[:120]!r}", not_json=True) from None
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError as exc:
            raise InvalidReply(f"reply is not valid JSON ({exc.msg}): {content[:120]!r}", not_json=True) from None
    try:
        return schema_model.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidReply(f"reply does not match the schema: {errors}", not_json=False) from None


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


class LLMClient:
    def __init__(
        self,
        model: str,
        store: ResultStore,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        max_repairs: int = 1,
        concurrency: int = 4,
        structured_output: StructuredOutput = "json_object_schema",
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        logger: logging.Logger | None = None,
        progress_every_s: float = 10.0,
        budget_usd: float | None = None,
        router_config: dict[str, Any] | None = None,
        price_per_token: tuple[float, float] | None = None,
        processes: int = 1,
    ):
        """``router_config``: keyword arguments of a ``litellm.Router`` whose model group
        ``model`` spreads calls over several endpoints (with fallbacks); ``api_base`` and
        ``api_key`` are then unused. ``price_per_token``: (input, output) USD per token for a
        model litellm has no price for (a self-hosted endpoint priced by its GPU hours);
        unset, such a model costs 0. ``processes``: worker processes that share a large
        batch (and the concurrency limit and budget) when litellm's per-call CPU work, not
        the endpoint, is the bottleneck; see ``run``."""
        self._spec = dict(
            model=model, store_path=str(store.path), api_base=api_base, api_key=api_key,
            temperature=temperature, max_tokens=max_tokens, timeout_s=timeout_s, max_retries=max_retries,
            max_repairs=max_repairs, structured_output=structured_output, backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s, progress_every_s=progress_every_s, router_config=router_config,
            price_per_token=price_per_token)
        self.model = model
        self.router_config = router_config
        self._router: Any | None = None
        self.store = store
        self._api_base = api_base
        self._api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_repairs = max_repairs
        self.concurrency = max(1, concurrency)
        self.structured_output = structured_output
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        litellm_api()  # imported and set up here, in the process that calls, not at module import
        self.log = logger or logging.getLogger("linksyn.llm")
        self.progress_every_s = progress_every_s
        self.budget_usd = budget_usd
        self.processes = max(1, processes)
        self.spent_usd = 0.0  # paid by this client's fresh calls (answers from the store cost nothing)
        self.limiter: AdaptiveLimit | None = None
        self._pool: Any | None = None
        self._writer: Any | None = None  # one thread commits results, in call order
        self._pool_ticks: Any | None = None
        self._price_kwargs: dict[str, float] = {}
        if price_per_token is not None:
            self._price_kwargs = {"input_cost_per_token": price_per_token[0],
                                  "output_cost_per_token": price_per_token[1]}

    def __repr__(self) -> str:  # never show the key
        return f"LLMClient(model={self.model!r}, api_base={self._api_base!r})"

    @property
    def router(self) -> Any | None:
        """The litellm Router, built on first use (each worker process builds its own)."""
        if self._router is None and self.router_config is not None:
            self._router = litellm_api().module.Router(**self.router_config)
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
        progress = _Progress(stage, len(plan.todo), plan.cached_count, self.log, self.progress_every_s)
        items = [(key, requests[indices[0]]) for key, indices in plan.todo.items()]
        if self.processes > 1 and len(items) >= self.processes * SHARD_MIN:
            answers, skipped = self._ask_sharded(stage, prompt_version, items, schema_model, progress)
        else:
            answers, skipped = _run_loop(self._ask_all(stage, prompt_version, items, schema_model, progress.tick))
        return self._finish(stage, plan, requests, answers, skipped, progress)

    async def arun(self, stage: str, prompt_version: str, requests: Sequence[LLMRequest],
                   schema_model: type[BaseModel]) -> list[LLMOutcome]:
        """``run`` inside a running event loop (always in this process)."""
        plan = self._plan(prompt_version, requests, schema_model)
        progress = _Progress(stage, len(plan.todo), plan.cached_count, self.log, self.progress_every_s)
        items = [(key, requests[indices[0]]) for key, indices in plan.todo.items()]
        answers, skipped = await self._ask_all(stage, prompt_version, items, schema_model, progress.tick)
        return self._finish(stage, plan, requests, answers, skipped, progress)

    def close(self) -> None:
        """Stop the worker processes and the writer thread, if any were started."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = self._pool_ticks = None

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
                f"{stage}: budget of ${self.budget_usd:.4f} reached (${self.spent_usd:.4f} spent); "
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
        import concurrent.futures
        import multiprocessing
        import queue as queue_module

        k = self.processes
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a process with threads
            self._pool_ticks = context.Queue()
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=k, mp_context=context, initializer=_worker_init, initargs=(self._pool_ticks,))
        remaining = None if self.budget_usd is None else max(0.0, self.budget_usd - self.spent_usd)
        futures = [
            self._pool.submit(_worker_run, self._spec, index, k, self.concurrency, remaining, stage, prompt_version,
                              items[index::k], schema_model)
            for index in range(k)
        ]
        pending = set(futures)
        while pending:
            try:
                progress.tick(self._pool_ticks.get(timeout=0.2))
            except queue_module.Empty:
                pass
            pending = {f for f in pending if not f.done()}
        answers: dict[str, LLMOutcome] = {}
        skipped = 0
        for future in futures:
            shard_answers, spent, shard_skipped = future.result()  # re-raises a worker's error
            answers.update(shard_answers)
            self.spent_usd += spent
            skipped += shard_skipped
        while True:  # ticks still queued after the last worker finished
            try:
                progress.tick(self._pool_ticks.get_nowait())
            except queue_module.Empty:
                break
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
                    if self.budget_usd is not None and self.spent_usd >= self.budget_usd:
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
                if _fleet_saturated(exc) and time.monotonic() - started < self.timeout_s:
                    # the Router found every endpoint at its in-flight cap (e.g. one is down
                    # and cooling off): nothing was sent, so this is a wait, not an attempt
                    attempts -= 1
                    await asyncio.sleep(random.uniform(0.02, 0.1))
                    continue
                if attempts > self.max_retries + repairs:
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
                    if attempts > self.max_retries + repairs:
                        break
                    await asyncio.sleep(self._backoff(attempts - repairs, None))
                    continue
                if repairs >= self.max_repairs:
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
            return min(retry_after, self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads a 429 storm out

    def _response_format(self, schema_model: type[BaseModel], schema: dict) -> Any:
        if self.structured_output == "json_object_schema":
            return {"type": "json_object", "schema": grammar_friendly(schema)}
        if self.structured_output == "json_schema":
            return schema_model
        if self.structured_output == "json_object":
            return {"type": "json_object"}
        return None

    async def _complete(self, messages: list[dict[str, str]], schema_model: type[BaseModel],
                        schema: dict) -> _Attempt:
        kwargs: dict[str, Any] = dict(
            model=self.model, messages=messages, temperature=self.temperature,
            max_tokens=self.max_tokens, timeout=self.timeout_s, max_retries=0, num_retries=0,
        )
        kwargs.update(self._price_kwargs)
        response_format = self._response_format(schema_model, schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        if self.router is not None:
            response = await self.router.acompletion(**kwargs)
        else:
            if self._api_base:
                kwargs["api_base"] = self._api_base
            if self._api_key:
                kwargs["api_key"] = self._api_key
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


SHARD_MIN = 64  # calls per worker process below which sharding is not worth its start-up


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


def _split(total: int, index: int, parts: int) -> int:
    """Share ``index`` of ``total`` dealt out over ``parts`` (shares sum to ``total``, each >= 1)."""
    return max(1, total // parts + (1 if index < total % parts else 0))


_TICKS: Any = None  # progress queue of a worker process


def _worker_init(ticks: Any) -> None:
    global _TICKS
    _TICKS = ticks


def _worker_run(spec: dict[str, Any], index: int, parts: int, concurrency: int, budget: float | None, stage: str,
                prompt_version: str, items: list[tuple[str, LLMRequest]],
                schema_model: type[BaseModel]) -> tuple[dict[str, LLMOutcome], float, int]:
    """One shard of a batch, in a worker process: its share of the limit and budget."""
    spec = dict(spec)
    store = ResultStore(Path(spec.pop("store_path")))
    router_config = spec.pop("router_config")
    if router_config is not None:  # each endpoint's in-flight cap is shared out too
        router_config = {**router_config, "model_list": [
            {**d, "litellm_params": {**d["litellm_params"], **(
                {"max_parallel_requests": _split(d["litellm_params"]["max_parallel_requests"], index, parts)}
                if "max_parallel_requests" in d["litellm_params"] else {})}}
            for d in router_config["model_list"]]}
    client = LLMClient(store=store, router_config=router_config, concurrency=_split(concurrency, index, parts),
                       budget_usd=None if budget is None else budget / parts, **spec)
    try:
        answers, skipped = _run_loop(client._ask_all(stage, prompt_version, items, schema_model, _TICKS.put))
    finally:
        client.close()
        store.close()
    return answers, client.spent_usd, skipped


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


