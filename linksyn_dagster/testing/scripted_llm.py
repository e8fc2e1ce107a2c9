"""A scripted, deterministic OpenAI-compatible chat server for tests and benchmarks.

It speaks enough of the OpenAI HTTP API for litellm / the openai client
(``POST /v1/chat/completions`` including SSE streaming, ``GET /v1/models``) and answers
without any model:

* explicit rules (regex over the concatenated messages -> reply) win;
* otherwise, a request carrying a JSON schema in ``response_format`` gets a JSON document
  valid against that schema, generated from a hash of the messages. Its strings are made of
  content words of the last user message, so prompts that share vocabulary share strings --
  which is what makes a knowledge-point co-occurrence graph appear in tests;
* otherwise a deterministic sentence.

With ``simulate`` set, a simulated model with known truth (``testing/simulated.py``) answers
LinkSyn's synthesis, rewrite, judge and verifier prompts instead of the schema generator.

Around that it simulates what real providers do to a pipeline: per-request latency (an
asyncio sleep, so concurrent requests overlap), DeepSeek-R1 style reasoning output, usage
numbers, and injected faults (429 with/without Retry-After, 500, 503, connection reset,
timeouts, truncated JSON, schema-violating JSON, empty replies) chosen deterministically per
(request hash, attempt). Thread-safe counters, readable over ``GET /_scripted/stats`` or
``.stats()``, let tests assert e.g. that a request that was answered was never paid twice.

Run it as a process: ``python -m linksyn_dagster.testing.scripted_llm --port 8099``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

FAULT_KINDS: tuple[str, ...] = (
    "429",
    "429_no_retry_after",
    "500",
    "503",
    "reset",
    "timeout",
    "truncated_json",
    "invalid_schema_json",
    "empty",
)
# faults that only make sense when the caller asked for JSON against a schema
_JSON_ONLY_FAULTS = frozenset({"truncated_json", "invalid_schema_json"})

ReasoningMode = Literal["none", "field", "think", "both"]


@dataclass(frozen=True)
class Fault:
    """A rule reply that injects ``kind`` instead of answering, for the first ``times``
    attempts of a request (``None`` = every attempt)."""

    kind: str
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


# A rule reply: fixed content, a dict/list sent as JSON, a callable of the request body, or a Fault.
RuleReply = str | dict | list | Fault | Callable[[dict[str, Any]], "str | dict | list | Fault"]
Rule = tuple["str | re.Pattern[str]", RuleReply]


@dataclass
class ScriptedConfig:
    """Behaviour that can change at run time (``POST /_scripted/config``)."""

    model_name: str = "scripted"
    latency_s: float = 0.0
    fault_rate: float = 0.0
    faults: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    # a request is never faulted more than this many times, so retries always end; None = no cap
    max_faults_per_request: int | None = 2
    timeout_hold_s: float = 30.0
    retry_after_s: float = 1.0
    reasoning: ReasoningMode = "none"
    seed: int = 0
    # requests served at once, like a serving engine's batch limit (0 = unlimited): more
    # wait for a free slot, and their latency starts when they get one
    capacity: int = 0
    # settings of a simulated model with known truth (testing/simulated.py) answering the
    # synthesis, rewrite, judge and verifier prompts after faults are drawn; None = off
    simulate: dict[str, Any] | None = None

    def update(self, values: Mapping[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known - {"rules"}
        if unknown:
            raise ValueError(f"unknown option(s): {', '.join(sorted(unknown))}")
        candidate = ScriptedConfig(**{**asdict(self), **{k: v for k, v in values.items() if k in known}})
        candidate.validate()
        for name in known:
            setattr(self, name, getattr(candidate, name))

    def validate(self) -> None:
        if not 0.0 <= float(self.fault_rate) <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        bad = [kind for kind in self.faults if kind not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kind(s) {bad}; known: {', '.join(FAULT_KINDS)}")
        if self.reasoning not in ("none", "field", "think", "both"):
            raise ValueError("reasoning must be one of none, field, think, both")
        if self.capacity < 0:
            raise ValueError("capacity must be >= 0 (0 = unlimited)")
        if self.latency_s < 0 or self.timeout_hold_s < 0 or self.retry_after_s < 0:
            raise ValueError("latency_s, timeout_hold_s and retry_after_s must be >= 0")
        if self.simulate is not None:
            from linksyn_dagster.testing.simulated import SimulatedModel

            SimulatedModel(**self.simulate)  # raises on unknown or out-of-range settings


# --------------------------------------------------------------------------------------------
# deterministic content


_STOPWORDS = frozenset(
    """
    about above after again against also although among another because been before being below
    between both cannot could does doing down during each either else enough even ever every
    from further given have having here hers herself himself however into itself just least less
    many might more most much must myself neither never none only other ought ours ourselves over
    same several shall should since some such than that their theirs them themselves then there
    therefore these they this those though through thus together under until upon very were what
    whatever when where whereas whether which while whom whose will with within without would
    your yours yourself yourselves answer question following choose correct option options
    please return json using given each based true false
    """.split()
)
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_FALLBACK_WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]


def stable_hash(text: str) -> int:
    """A process-independent hash (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)


def request_hash(messages: Sequence[Mapping[str, Any]]) -> str:
    """Identity of a request: its messages (role + text), canonicalised."""
    canonical = json.dumps(
        [[str(m.get("role", "")), _message_text(m)] for m in messages], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def content_words(text: str) -> list[str]:
    """Content words (length >= 4, lowercased, no stopwords) in order of appearance."""
    words = [w.strip("'’-") for w in _WORD_RE.findall(text.lower())]
    return [w for w in words if len(w) >= 4 and w not in _STOPWORDS]


class _Vocabulary:
    """Phrases of 1-3 words drawn from a text, independent of the request that carries it.

    Which words head a phrase follows a fixed global ranking of words (a MinHash: the words
    with the smallest stable hash come first), and a phrase's length and words depend only on
    its head and the head's neighbours in the text. So two prompts sharing words pick the
    same strings with a probability that grows with their vocabulary overlap, like two
    extractions of related seeds naming the same knowledge points.
    """

    def __init__(self, text: str, rng: random.Random) -> None:
        self.sequence = content_words(text) or list(_FALLBACK_WORDS)
        self.heads = sorted(dict.fromkeys(self.sequence), key=lambda w: stable_hash(f"head|{w}"))
        self.rng = rng
        self.drawn = 0

    def _single(self, head: str) -> str:
        bucket = stable_hash(head) % 6  # 4/6 single words, 1/6 two words, 1/6 three words
        length = 1 if bucket < 4 else bucket - 2
        start = self.sequence.index(head)
        return " ".join(dict.fromkeys(self.sequence[start:start + length]))  # no "word word"

    def phrase(self) -> str:
        index, rounds = self.drawn % len(self.heads), self.drawn // len(self.heads)
        self.drawn += 1
        head = self.heads[index]
        if rounds == 0:
            return self._single(head)
        # every head is used: pair heads so later strings stay distinct within the document
        partner = self.heads[(index + rounds) % len(self.heads)]
        return head if partner == head else f"{head} {partner}"

    def text(self, n_phrases: int) -> str:
        return " ".join(self.phrase() for _ in range(n_phrases))


class SchemaFaker:
    """Build a JSON value valid against a JSON schema (the subset pydantic emits: $ref/$defs,
    anyOf/oneOf/allOf, enum/const, type lists, objects, arrays with min/maxItems/uniqueItems,
    prefixItems, numeric bounds, string lengths and common formats)."""

    max_depth = 8

    def __init__(self, root: Any, vocabulary: _Vocabulary, rng: random.Random) -> None:
        self.root = root
        self.vocab = vocabulary
        self.rng = rng

    def generate(self) -> Any:
        return self.value(self.root, 0)

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, Mapping) and "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise ValueError(f"only local $ref are supported, got {ref!r}")
            target: Any = self.root
            for part in [p for p in ref[1:].split("/") if p]:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if siblings and isinstance(target, Mapping) else target
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref cycle at {ref!r}")
        return schema

    def value(self, schema: Any, depth: int) -> Any:
        schema = self.resolve(schema)
        if schema is True or schema is None or schema == {}:
            return self.vocab.phrase()
        if not isinstance(schema, Mapping):
            return self.vocab.phrase()
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            return self.value(merged, depth)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                non_null = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
                # deep in a recursive schema take the null branch if there is one, to terminate
                if depth >= self.max_depth and len(non_null) < len(options):
                    return None
                return self.value(self.rng.choice(non_null or options), depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = non_null[0] if non_null else "null"
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        maker = getattr(self, f"_{kind}", None)
        if maker is None:
            raise ValueError(f"unsupported schema type {kind!r}")
        return maker(schema, depth)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            # fill every property, except optional ones deep inside a recursive structure
            if depth < self.max_depth or name in required:
                result[name] = self.value(sub, depth + 1)
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, Mapping) and extra:
            lo = int(schema.get("minProperties", 1))
            for _ in range(self.rng.randint(lo, max(lo, min(int(schema.get("maxProperties", lo + 2)), lo + 2)))):
                result[self.vocab.phrase()] = self.value(extra, depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems", []))
        min_items = int(schema.get("minItems", 0))
        max_items = schema.get("maxItems")
        lo = max(min_items, len(prefix) if max_items is None else min(len(prefix), int(max_items)))
        if min_items == 0 and (max_items is None or int(max_items) >= 1) and depth < self.max_depth:
            lo = max(lo, 1)  # an empty list is valid but useless to a test
        hi = lo + 3 if max_items is None else int(max_items)
        hi = max(lo, min(hi, lo + 8))
        if schema.get("items") is False:
            hi = min(hi, len(prefix))
        length = self.rng.randint(lo, hi)
        items_schema = schema.get("items", {})
        unique = bool(schema.get("uniqueItems"))
        out: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(out) < length and attempts < 20 * (length + 1):
            attempts += 1
            index = len(out)
            sub = prefix[index] if index < len(prefix) else items_schema
            item = self.value(sub, depth + 1)
            key = json.dumps(item, sort_keys=True)
            if unique and key in seen:
                continue
            seen.add(key)
            out.append(item)
        return out

    def _string(self, schema: Mapping[str, Any], depth: int) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return f"2024-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}T12:00:00Z"
        if fmt == "date":
            return f"2024-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        if fmt == "time":
            return f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}:00"
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt == "email":
            return f"{self.vocab.phrase().replace(' ', '.')}@example.org"
        if fmt in ("uri", "url"):
            return f"https://example.org/{self.vocab.phrase().replace(' ', '-')}"
        min_len = int(schema.get("minLength", 1))
        max_len = schema.get("maxLength")
        text = self.vocab.phrase()
        while len(text) < min_len:
            text = f"{text} {self.vocab.phrase()}"
        if max_len is not None and len(text) > int(max_len):
            cut = text[: int(max_len)]
            # prefer a word boundary, but never go below minLength
            boundary = cut.rfind(" ")
            text = cut[:boundary] if boundary >= max(min_len, 1) else cut
        return text

    def _integer(self, schema: Mapping[str, Any], depth: int) -> int:
        lo_bound = schema.get("minimum")
        hi_bound = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            lo_bound = math.floor(schema["exclusiveMinimum"]) + 1
        if "exclusiveMaximum" in schema:
            hi_bound = math.ceil(schema["exclusiveMaximum"]) - 1
        lo = math.ceil(lo_bound) if lo_bound is not None else (int(hi_bound) - 10 if hi_bound is not None else 0)
        hi = math.floor(hi_bound) if hi_bound is not None else lo + 10
        value = self.rng.randint(lo, max(lo, hi))
        step = schema.get("multipleOf")
        if step:
            step = int(step)
            value = min(hi, max(lo, math.ceil(value / step) * step))
            if value % step:  # the range holds no multiple but lo; take the first one up
                value = math.ceil(lo / step) * step
        return value

    def _number(self, schema: Mapping[str, Any], depth: int) -> float:
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        lo_f = float(lo) if lo is not None else (float(hi) - 10.0 if hi is not None else 0.0)
        hi_f = float(hi) if hi is not None else lo_f + 10.0
        value = round(self.rng.uniform(lo_f, hi_f), 3)
        # keep strictly inside exclusive bounds
        span = max(hi_f - lo_f, 0.0)
        if "exclusiveMinimum" in schema and value <= lo_f:
            value = lo_f + span / 2 if span else lo_f + 1e-6
        if "exclusiveMaximum" in schema and value >= hi_f:
            value = lo_f + span / 2 if span else hi_f - 1e-6
        return min(max(value, lo_f), hi_f) if span else value

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None


def schema_of(response_format: Any) -> tuple[bool, Any]:
    """(wants JSON, schema or None) from an OpenAI / llama.cpp style ``response_format``."""
    if not isinstance(response_format, Mapping):
        return False, None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        return True, spec.get("schema") if isinstance(spec, Mapping) else None
    if kind == "json_object":
        return True, response_format.get("schema")
    return False, None


def _schema_violation(schema: Any, valid: Any) -> Any:
    """A JSON value that parses but breaks ``schema``: drop a required key if there is one,
    else send a value of the wrong top-level type."""
    if isinstance(valid, dict) and isinstance(schema, Mapping):
        required = [k for k in schema.get("required", []) if k in valid]
        if required:
            broken = dict(valid)
            del broken[required[0]]
            return broken
    if isinstance(valid, (dict, list)):
        return "not the requested structure"
    return {"unexpected": valid}


def _tokens(text: str) -> int:
    # ~4 characters per token, the usual rule of thumb for English with BPE tokenizers
    return math.ceil(len(text) / 4) if text else 0


# --------------------------------------------------------------------------------------------
# counters


class _Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.successes = 0
            self.faults: Counter[str] = Counter()
            self.attempts_by_hash: Counter[str] = Counter()
            self.faults_by_hash: Counter[str] = Counter()
            self.success_by_hash: Counter[str] = Counter()
            self.in_flight = 0
            self.peak_in_flight = 0
            self.prompt_tokens = 0
            self.completion_tokens = 0
            self.started = time.monotonic()

    def begin(self, key: str) -> int:
        """Count a request; return its attempt number for ``key`` (0 = first)."""
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            attempt = self.attempts_by_hash[key]
            self.attempts_by_hash[key] += 1
            return attempt

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def fault(self, key: str, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1
            self.faults_by_hash[key] += 1

    def faults_for(self, key: str) -> int:
        with self._lock:
            return self.faults_by_hash[key]

    def success(self, key: str, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self.successes += 1
            self.success_by_hash[key] += 1
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "successes": self.successes,
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "success_by_hash": dict(self.success_by_hash),
                "attempts_by_hash": dict(self.attempts_by_hash),
                "max_successes_per_request": max(self.success_by_hash.values(), default=0),
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "uptime_s": round(time.monotonic() - self.started, 3),
            }


# --------------------------------------------------------------------------------------------
# the server


def _compile_rules(rules: Iterable[Rule] | None) -> list[tuple[re.Pattern[str], RuleReply]]:
    compiled: list[tuple[re.Pattern[str], RuleReply]] = []
    for pattern, reply in rules or []:
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, re.DOTALL)
        compiled.append((regex, reply))
    return compiled


class _Reply:
    """What one request gets: content (+ reasoning) or a fault kind."""

    def __init__(self, content: str = "", reasoning: str | None = None, fault: str | None = None,
                 finish_reason: str = "stop") -> None:
        self.content = content
        self.reasoning = reasoning
        self.fault = fault
        self.finish_reason = finish_reason


class ScriptedLLMServer:
    """Deterministic OpenAI-compatible chat server on a background thread (own event loop).

    ``rules``: ``[(regex, reply), ...]`` tried in order against the messages' text joined by
    newlines; a reply is a string, a dict/list (sent as JSON), a :class:`Fault`, or a callable
    of the request body returning one of those. Other keyword options are
    :class:`ScriptedConfig` fields (``latency_s``, ``fault_rate``, ``faults``, ...).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, rules: Iterable[Rule] | None = None,
                 **options: Any) -> None:
        self.host = host
        self._requested_port = port
        self.config = ScriptedConfig()
        self.config.update(options)
        self._rules = _compile_rules(rules)
        self._slots: asyncio.Semaphore | None = None  # capacity slots, made on the server loop
        self._slots_size = 0
        self._stats = _Stats()
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the scripted LLM server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def litellm_model(self) -> str:
        """The litellm model id that routes to this server (with ``api_base=self.api_base``)."""
        return f"openai/{self.config.model_name}"

    def start(self, timeout: float = 10.0) -> ScriptedLLMServer:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("scripted LLM server did not start in time")
        if self._startup_error is not None:
            self._thread = None
            raise RuntimeError(f"scripted LLM server failed to start: {self._startup_error}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self._runner = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def reset(self) -> None:
        """Zero the counters and attempt numbers (the configuration stays)."""
        self._stats.reset()

    def configure(self, **options: Any) -> None:
        rules = options.pop("rules", None)
        self.config.update(options)
        if rules is not None:
            self._rules = _compile_rules(rules)

    def _serve_forever(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_site())
        except BaseException as exc:  # report to start() instead of dying silently
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start_site(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port, backlog=2048, reuse_address=True)
        await site.start()
        sockets = [s for s in (getattr(site._server, "sockets", None) or [])]  # noqa: SLF001
        self._port = sockets[0].getsockname()[1] if sockets else self._requested_port

    def make_app(self) -> web.Application:
        # large client_max_size: prompts with several seeds can exceed aiohttp's 1 MiB default
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/models", self._models)
        app.router.add_get("/_scripted/stats", self._admin_stats)
        app.router.add_post("/_scripted/reset", self._admin_reset)
        app.router.add_post("/_scripted/config", self._admin_config)
        app.router.add_get("/_scripted/config", self._admin_config)
        return app

    # ---- handlers --------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({
            "object": "list",
            "data": [{"id": self.config.model_name, "object": "model", "created": 0, "owned_by": "linksyn"}],
        })

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _admin_config(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                rules = body.get("rules")
                if rules is not None:
                    body["rules"] = [(str(p), r) for p, r in rules]
                self.configure(**body)
            except (ValueError, TypeError) as exc:
                return _error(400, f"bad config: {exc}", "invalid_request_error")
        return web.json_response(asdict(self.config))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        loop_time = asyncio.get_running_loop().time
        arrived = loop_time()
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not JSON", "invalid_request_error")
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty list", "invalid_request_error")

        key = request_hash(messages)
        async with self._slot():
            arrived = loop_time()
            return await self._answer(request, body, messages, key, arrived)

    @contextlib.asynccontextmanager
    async def _slot(self):
        """One of ``capacity`` serving slots (none needed when capacity is 0)."""
        size = self.config.capacity
        if not size:
            yield
            return
        if self._slots is None or self._slots_size != size:
            self._slots, self._slots_size = asyncio.Semaphore(size), size
        async with self._slots:
            yield

    async def _answer(self, request: web.Request, body: dict[str, Any], messages: list, key: str,
                      arrived: float) -> web.StreamResponse:
        loop_time = asyncio.get_running_loop().time
        attempt = self._stats.begin(key)
        try:
            cfg = self.config
            reply = self._decide(body, messages, key, attempt)
            if cfg.latency_s:
                # latency counts from arrival, so the time spent deciding is part of it
                await asyncio.sleep(max(0.0, cfg.latency_s - (loop_time() - arrived)))
            if reply.fault is not None:
                self._stats.fault(key, reply.fault)
                return await self._deliver_fault(request, reply, body)
            prompt_tokens = sum(_tokens(_message_text(m)) + 4 for m in messages)
            completion_tokens = _tokens(reply.content) + _tokens(reply.reasoning or "")
            response = await self._deliver(request, body, key, reply, prompt_tokens, completion_tokens)
            self._stats.success(key, prompt_tokens, completion_tokens)
            return response
        finally:
            self._stats.end()

    # ---- deciding the reply ----------------------------------------------------------------

    def _decide(self, body: dict[str, Any], messages: list[dict[str, Any]], key: str, attempt: int) -> _Reply:
        cfg = self.config
        wants_json, schema = schema_of(body.get("response_format"))
        joined = "\n".join(_message_text(m) for m in messages)
        last_user = next((_message_text(m) for m in reversed(messages) if m.get("role") == "user"), joined)
        rng = random.Random(f"{cfg.seed}|content|{key}")
        vocab = _Vocabulary(last_user, rng)

        for regex, rule_reply in self._rules:
            if regex.search(joined):
                produced = rule_reply(body) if callable(rule_reply) else rule_reply
                if isinstance(produced, Fault):
                    if produced.times is None or attempt < produced.times:
                        return _Reply(fault=produced.kind)
                    break  # the scripted fault is spent: answer normally
                content = produced if isinstance(produced, str) else json.dumps(produced, ensure_ascii=False)
                return self._with_reasoning(content, vocab)

        # random faults: a fresh draw per (request, attempt), capped per request so retries end
        if cfg.fault_rate > 0 and cfg.faults:
            cap = cfg.max_faults_per_request
            if cap is None or self._stats.faults_for(key) < cap:
                fault_rng = random.Random(f"{cfg.seed}|fault|{key}|{attempt}")
                if fault_rng.random() < cfg.fault_rate:
                    kinds = [k for k in cfg.faults if wants_json or k not in _JSON_ONLY_FAULTS]
                    if kinds:
                        kind = fault_rng.choice(kinds)
                        return self._json_fault(kind, schema, vocab) if kind in _JSON_ONLY_FAULTS else _Reply(fault=kind)

        if wants_json and cfg.simulate is not None:
            from linksyn_dagster.testing.simulated import SimulatedModel

            simulated = SimulatedModel(**cfg.simulate).reply(body)
            if simulated is not None:
                return self._with_reasoning(json.dumps(simulated, ensure_ascii=False), vocab)
        if wants_json:
            return self._with_reasoning(json.dumps(self._json_value(schema, vocab), ensure_ascii=False), vocab)
        return self._with_reasoning(f"Scripted reply about {vocab.text(3)}.", vocab)

    def _json_value(self, schema: Any, vocab: _Vocabulary) -> Any:
        if schema is None:  # JSON mode without a schema
            return {"answer": vocab.text(2)}
        return SchemaFaker(schema, vocab, vocab.rng).generate()

    def _json_fault(self, kind: str, schema: Any, vocab: _Vocabulary) -> _Reply:
        valid = self._json_value(schema, vocab)
        if kind == "truncated_json":
            text = json.dumps(valid, ensure_ascii=False)
            # cut inside the document so it can never parse; finish_reason as when max_tokens hits
            return _Reply(content=text[: max(1, len(text) // 2)], fault=kind, finish_reason="length")
        return _Reply(content=json.dumps(_schema_violation(schema, valid), ensure_ascii=False), fault=kind)

    def _with_reasoning(self, content: str, vocab: _Vocabulary) -> _Reply:
        mode = self.config.reasoning
        if mode == "none":
            return _Reply(content=content)
        thought = f"Let me think about {vocab.text(2)}. It links to {vocab.text(2)}, so the answer follows."
        if mode in ("think", "both"):
            content = f"<think>\n{thought}\n</think>\n\n{content}"
        return _Reply(content=content, reasoning=thought if mode in ("field", "both") else None)

    # ---- writing replies -------------------------------------------------------------------

    async def _deliver_fault(self, request: web.Request, reply: _Reply, body: dict[str, Any]) -> web.StreamResponse:
        kind = reply.fault
        cfg = self.config
        if kind == "429":
            retry = cfg.retry_after_s
            headers = {"Retry-After": str(math.ceil(retry)), "retry-after-ms": str(int(retry * 1000))}
            return _error(429, "Rate limit reached (scripted)", "rate_limit_error", headers)
        if kind == "429_no_retry_after":
            return _error(429, "Rate limit reached (scripted)", "rate_limit_error")
        if kind == "500":
            return _error(500, "Internal server error (scripted)", "server_error")
        if kind == "503":
            return _error(503, "Service unavailable (scripted)", "server_error")
        if kind == "reset":
            _abort_connection(request, rst=True)
            raise _Dropped()
        if kind == "timeout":
            await asyncio.sleep(cfg.timeout_hold_s)
            _abort_connection(request, rst=False)
            raise _Dropped()
        if kind == "empty":
            reply = _Reply(content="")
        # truncated_json / invalid_schema_json / empty: a 200 that carries bad content
        return await self._deliver(request, body, request_hash(body["messages"]), reply,
                                   sum(_tokens(_message_text(m)) + 4 for m in body["messages"]), _tokens(reply.content))

    async def _deliver(self, request: web.Request, body: dict[str, Any], key: str, reply: _Reply,
                       prompt_tokens: int, completion_tokens: int) -> web.StreamResponse:
        model = str(body.get("model") or self.config.model_name)
        completion_id = f"chatcmpl-{key[:20]}{uuid.uuid4().hex[:8]}"
        reasoning_tokens = _tokens(reply.reasoning or "")
        if reply.reasoning is None and reply.content.startswith("<think>"):
            reasoning_tokens = _tokens(reply.content.split("</think>", 1)[0])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        created = int(time.time())
        if body.get("stream"):
            return await self._stream(request, body, completion_id, created, model, reply, usage)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        return web.json_response({
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}],
            "usage": usage,
        })

    async def _stream(self, request: web.Request, body: dict[str, Any], completion_id: str, created: int,
                      model: str, reply: _Reply, usage: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": ""}))
        if reply.reasoning:
            await response.write(chunk({"reasoning_content": reply.reasoning}))
        text = reply.content
        pieces = max(1, min(4, len(text) // 16))
        size = math.ceil(len(text) / pieces) if text else 0
        for start in range(0, len(text), max(size, 1)):
            await response.write(chunk({"content": text[start:start + size]}))
        await response.write(chunk({}, reply.finish_reason))
        options = body.get("stream_options") or {}
        if isinstance(options, Mapping) and options.get("include_usage"):
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [], "usage": usage}
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


class _Dropped(web.HTTPException):
    """Raised after the connection was torn down on purpose; aiohttp has nothing left to send."""

    status_code = 499


def _abort_connection(request: web.Request, rst: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if rst:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset by peer"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


def _error(status: int, message: str, kind: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return web.json_response(body, status=status, headers=dict(headers or {}))


# --------------------------------------------------------------------------------------------
# CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m linksyn_dagster.testing.scripted_llm",
        description="Scripted OpenAI-compatible chat server (deterministic replies, fault injection).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (printed on start)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--model-name", default="scripted")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(FAULT_KINDS), help="comma-separated fault kinds")
    parser.add_argument("--max-faults-per-request", type=int, default=2, help="negative = no cap")
    parser.add_argument("--timeout-hold", type=float, default=30.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--reasoning", choices=["none", "field", "think", "both"], default="none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--capacity", type=int, default=0, help="requests served at once (0 = unlimited)")
    parser.add_argument("--rules-file", type=Path, help='JSON list of ["regex", "reply"] pairs')
    parser.add_argument("--simulate", metavar="JSON", help="answer the synthesis, rewrite, judge and verifier "
                        "prompts as a simulated model with known truth (linksyn_dagster/testing/simulated.py), "
                        "with these settings, e.g. '{\"follow_p\": 0.5}' ('{}' = its defaults)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    rules: list[Rule] = []
    if args.rules_file:
        rules = [(str(p), r) for p, r in json.loads(args.rules_file.read_text())]
    server = ScriptedLLMServer(
        args.host, args.port, rules=rules,
        model_name=args.model_name, latency_s=args.latency, fault_rate=args.fault_rate,
        faults=[k for k in args.faults.split(",") if k],
        max_faults_per_request=None if args.max_faults_per_request < 0 else args.max_faults_per_request,
        timeout_hold_s=args.timeout_hold, retry_after_s=args.retry_after, reasoning=args.reasoning, seed=args.seed,
        capacity=args.capacity, simulate=None if args.simulate is None else json.loads(args.simulate),
    )
    server.start()
    if args.port_file:
        args.port_file.write_text(str(server.port))
    print(f"scripted LLM listening on {server.api_base}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
