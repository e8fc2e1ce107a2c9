"""The one configuration model of LinkSyn.

Every setting comes from the environment (prefix ``LINKSYN_``, nested with ``__``, e.g.
``LINKSYN_NEO4J__URI``) or an optional ``.env`` file in the working directory. Secrets are
``SecretStr`` so they print as ``**********`` in logs, reprs and Dagster metadata.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _blank_is_unset(value: object) -> object:
    # docker-compose and shells pass unset variables as "": treat them as not configured
    return None if isinstance(value, str) and not value.strip() else value


class Neo4jSettings(BaseModel):
    """The graph store. Without ``uri`` the project runs a local Neo4j Community server."""

    uri: str | None = Field(None, description="Bolt URI of an existing server; unset = local server started by LinkSyn")
    user: str = Field("neo4j", description="Neo4j user")
    password: SecretStr | None = Field(
        None, description="Neo4j password; unset with a local server = generated and stored under the data dir (0600)"
    )
    database: str = Field("neo4j", description="Neo4j database name")
    version: str = Field("5.26.30", description="Neo4j Community version the local server runs (from Maven Central)")
    bolt_port: int = Field(7687, description="Bolt port of the local server (127.0.0.1)")
    http_port: int = Field(7474, description="HTTP port of the local server (Neo4j Browser, Query API)")
    heap: str = Field("512m", description="JVM heap of the local server")
    pagecache: str = Field("256m", description="page cache of the local server")
    batch_size: int = Field(5000, description="rows per transaction when loading the graph")
    writers: int = Field(1, ge=1, description="sessions writing the graph at once (relationships in node-disjoint rounds)")

    _blank = field_validator("uri", "password", mode="before")(_blank_is_unset)


class LLMSettings(BaseModel):
    """The language model. Without ``model`` a small local model is served on loopback."""

    model: str | None = Field(
        None, description="litellm model id (e.g. deepseek/deepseek-reasoner); unset = local SmolLM2-135M via llama.cpp"
    )
    api_base: str | None = Field(None, description="base URL of an OpenAI-compatible endpoint (vLLM, llama.cpp, ...)")
    api_key: SecretStr | None = Field(None, description="API key for the model provider")
    local_port: int = Field(8088, description="port of the local llama.cpp server (127.0.0.1)")
    local_threads: int = Field(2, description="CPU threads of the local llama.cpp server")
    local_max_tokens: int = Field(
        512, description="completion token cap with the local model (a CPU model that rambles to a high cap "
        "holds the single-slot server past the timeout)")
    temperature: float = Field(0.7, description="sampling temperature")
    max_tokens: int = Field(1024, description="completion token cap per call")
    timeout_s: float = Field(120.0, description="seconds before one call times out")
    max_retries: int = Field(3, description="retries of a failed call (429, 5xx, timeouts, invalid JSON)")
    concurrency: int = Field(4, description="calls in flight at once per endpoint (ceiling of the adaptive limit)")
    budget_usd: float | None = Field(
        None, description="most one asset materialization may spend on new calls; when reached the stage stops "
        "cleanly, answered items saved; unset = no cap")
    max_failure_share: float = Field(
        0.2, ge=0, le=1, description="largest share of an LLM stage's requests that may fail (no valid answer "
        "after retries) in one materialization; above it the stage's blocking check llm_yield fails it, naming "
        "the top failure classes, and what follows waits")
    low_yield_blocks: bool = Field(
        True, description="false: a stage above max_failure_share is reported by llm_yield as a warning (listed at "
        "the end of `linksyn run`) and what follows goes on; the demo sets it, where a discipline has one or two "
        "items and one malformed reply of the tiny model is half or all of a stage")
    api_bases: list[str] = Field(
        default_factory=list,
        description="several OpenAI-compatible endpoints serving `model` (a vLLM fleet, JSON list): a litellm "
        "Router spreads calls over them (and over `api_base`), at most `concurrency` in flight on each; a "
        "failing endpoint is cooled down while the others carry on")
    fallback_models: list[str] = Field(
        default_factory=list,
        description="litellm model ids tried in order when `model` fails a call (Router fallbacks, JSON list); "
        "`model@http://host/v1` for a self-hosted one; keys come from the providers' usual env variables")
    routing_strategy: Literal["simple-shuffle", "least-busy", "latency-based-routing"] = Field(
        "least-busy", description="how the Router picks an endpoint for each call")
    client_processes: int = Field(
        1, ge=1, description="worker processes sharing a large LLM batch (>= 64 calls each), when litellm's "
        "per-call CPU work rather than the endpoint limits the rate (hundreds of calls/s against a fleet); they "
        "split the concurrency limit and the budget")
    input_cost_per_mtok: float | None = Field(
        None, description="USD per million prompt tokens, for a model litellm has no price for (e.g. your GPU "
        "cost); unset = litellm's price list, 0 for unknown models")
    output_cost_per_mtok: float | None = Field(
        None, description="USD per million completion (and reasoning) tokens; see input_cost_per_mtok")
    structured_output: Literal["json_object_schema", "json_schema", "json_object", "none"] = Field(
        "json_object_schema",
        description="how the JSON schema is sent: json_object+schema (llama.cpp, vLLM), json_schema "
        "(OpenAI-style strict), json_object (JSON mode only), none (schema in the prompt only)",
    )
    result_store_url: SecretStr | None = Field(
        None, description="Postgres database of the LLM result store (postgresql://user:password@host:port/db), "
        "for steps running in separate pods; unset = the SQLite file llm_cache.sqlite under the data dir")

    # not checked here: pydantic repeats a rejected value in its errors, and this one holds a
    # password (the store says what is wrong with it, masked: llm/store_postgres.py)
    _blank = field_validator("model", "api_base", "api_key", "result_store_url", mode="before")(_blank_is_unset)

    @property
    def price_per_token(self) -> tuple[float, float] | None:
        """(input, output) USD per token from the configured prices per million, None when
        neither is set (litellm's price list, or 0 for a model it has no price for)."""
        if self.input_cost_per_mtok is None and self.output_cost_per_mtok is None:
            return None
        return (self.input_cost_per_mtok or 0.0) / 1e6, (self.output_cost_per_mtok or 0.0) / 1e6


class SeedSettings(BaseModel):
    source_dir: Path | None = Field(
        None, description="directory of seed files (MMLU/CMMLU CSV, JSONL, Parquet); unset = bundled demo seeds"
    )
    max_field_chars: int = Field(20000, description="longest question/choice/answer accepted; longer rows are rejected")
    schedule_cron: str = Field(
        "0 2 * * *", description="when the nightly schedule runs the seed stages (cron, UTC; the daemon of "
        "`linksyn stack` or a deployment ticks it once it is turned on)")


class WalkSettings(BaseModel):
    """Value-function walk: P(i→j) ∝ w_ij^β · V(j), V(j) = pop(j)^α · 1/(1+visits_j)^γ."""

    alpha: float = Field(0.5, description="weight of popularity (normalized log frequency) in V")
    beta: float = Field(1.0, description="exponent on co-occurrence weight")
    gamma: float = Field(1.0, description="decay of V with past visits (coverage term)")
    min_length: int = Field(3, description="shortest path in KPs")
    max_length: int = Field(5, description="longest path in KPs")
    paths_total: int = Field(24, description="paths in all, split over start disciplines by the target distribution")
    target_distribution: dict[str, float] = Field(
        default_factory=dict,
        description="discipline -> share of paths (JSON); empty = uniform over disciplines that have KPs",
    )
    random_seed: int = Field(20260801, description="seed of the walk's random generator")
    cross_discipline: Literal["allow", "prefer", "avoid"] = Field(
        "allow", description="steps to a KP of another discipline: allow (no bias), prefer (score × cross_bonus), "
        "avoid (only when no same-discipline step is left)")
    cross_bonus: float = Field(2.0, gt=0, description="score factor of a crossing step when cross_discipline = prefer")
    batch_size: int = Field(
        0, ge=0, description="walks that see the same visit counts and run in parallel; 1 = exactly sequential, "
        "0 = auto (KPs / (64 · max_length), at most 4096: same coverage as sequential, see core/walker.py)")


class SynthesisSettings(BaseModel):
    max_seeds_per_path: int = Field(4, description="seeds pulled along a path into one prompt (those holding most "
                                    "of its KPs first, then each KP's least-used seeds)")
    difficulty_mix: dict[str, float] = Field(
        default_factory=lambda: {"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.25, "5": 0.15},
        description="target share of each difficulty level (1-5) among released items (JSON)",
    )
    difficulty_mix_by_discipline: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="discipline -> its own difficulty mix (JSON), for disciplines whose "
        "release should be harder or easier than difficulty_mix")
    steer_difficulty: bool = Field(
        True, description="ask every path for a target difficulty level (drawn so each discipline's mix fills) "
        "and rewrite items judged off their level toward it; false = the open loop: no level asked, no rewrite")
    max_rewrites: int = Field(
        1, ge=0, le=5, description="rewrites toward the target level an item judged off its level gets at most")
    judge_samples: int = Field(
        3, ge=1, le=9, description="independent difficulty readings of each version by the judge (who solves it "
        "without its key, then grades it); its level is their median. Readings are asked one at a time until they "
        "settle whether that median is the target level: a noisy judge misplaces fewer items, at the cost of more "
        "calls")
    candidates: int = Field(
        2, ge=1, le=5, description="when difficulty is steered: versions one synthesis or rewrite call writes, "
        "different questions at the level asked; each is judged, and the surest taken for its level goes on, so "
        "fewer calls are spent on a level the generator often misses; 1 = one version per call")
    judge_batch: int = Field(
        8, ge=1, le=32, description="questions one judge call reads (of one discipline, each on its own reading; "
        "a question's further readings go to other calls): fewer calls and prompt tokens per reading; 1 = a call "
        "per reading")
    level_confidence: float = Field(
        0.85, gt=0.5, lt=1.0, description="closed loop: a version whose median reading is its target level is "
        "taken for it only when a model of the generator's drift and the judge's noise, learned from the "
        "partition's readings, gives that level at least this probability (else it is read on, up to "
        "judge_samples, then rewritten); higher = fewer misplaced items, more calls")
    verifier_samples: int = Field(
        3, ge=0, le=9, description="independent solves of each item by the verifier (k); an item is released only "
        "when a majority of the k answers equals its key; the judge's solves count when the verifier is the "
        "generating model; 0 = no verification")
    verifier_model: str | None = Field(
        None, description="litellm model id of the verifier; unset = the generating model (LINKSYN_LLM__MODEL)")


class ReleaseSettings(BaseModel):
    """Near-duplicate removal and quality signals of the release (``linkqa_dataset``)."""

    near_dup_threshold: float = Field(
        0.7, gt=0, lt=1, description="estimated Jaccard similarity of question + answer at or above which two "
        "items are near-duplicates (MinHash-LSH); one item per cluster is kept")
    near_dup_num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations (more = finer estimates, "
                                   "slower)")
    near_dup_shingle_size: int = Field(
        2, ge=1, le=5, description="shingles are the word n-grams (character n-grams for CJK) for n = 1 up to this")
    min_question_units: int = Field(
        4, ge=1, description="questions with fewer words (CJK characters) get the question_too_short quality flag")
    min_language_share: float = Field(
        0.05, ge=0, le=1, description="a language of at least this share of a discipline's seeds (or its majority "
        "language) is accepted there; others get the language_mismatch quality flag")
    license: str = Field("other", description="license id written to the dataset card (a Hub license id, e.g. "
                         "cc-by-nc-sa-4.0 when seeded from CMMLU)")
    discipline_l1_tolerance: float = Field(
        0.05, ge=0, le=2, description="largest L1 distance (sum of |share - target share|) between the released "
        "items' discipline shares and the target distribution that the release check accepts")
    difficulty_l1_tolerance: float = Field(
        0.10, ge=0, le=2, description="largest L1 distance between the released items' difficulty shares and "
        "difficulty_mix that the release check accepts (unjudged items count as off target)")
    target_tokens: int | None = Field(
        None, ge=1, description="the release's size in tokens (tiktoken cl100k_base over question, choices, "
        "answer and explanation): the items wanted are this over the measured tokens per item, refined each "
        "round; the first round's paths come from the seeds' tokens per item. Unset = as many items as "
        "LINKSYN_WALK__PATHS_TOTAL")
    fill_cells: bool = Field(
        True, description="hold the release to its discipline x difficulty cells: each keeps at most its "
        "target (the rest are dropped as `cell_full`), and `linksyn run` walks further rounds for the "
        "shortfall. false = release every clean item, as walked (open loop)")
    max_rounds: int = Field(
        3, ge=0, le=20, description="further rounds `linksyn run` and next_round_sensor walk, at most, for the "
        "cells the release misses (0 = the first round only): the default of walk_plan's run config max_rounds, "
        "which the plan records and its rounds and release follow")
    first_round_share: float = Field(
        0.5, gt=0, le=1, description="under a token budget with further rounds, the share of the items the seeds' "
        "size suggests that the first round walks: generated items are longer than seeds and some are dropped, "
        "so the later rounds, sized from what the release measures, walk the rest instead of the first "
        "round walking too many")


class DecontamSettings(BaseModel):
    """Decontamination of seeds and release against evaluation sets."""

    benchmark_paths: list[Path] = Field(
        default_factory=list, description="evaluation sets to decontaminate against (JSON list of files or "
        "directories: MMLU CSV, CMMLU CSV, JSONL, Parquet as for seeds); empty = no decontamination")
    ngram_words: int = Field(13, ge=1, description="n-gram size in words for texts that are mostly words")
    ngram_chars: int = Field(13, ge=1, description="n-gram size in characters for texts that are mostly CJK")
    min_overlap: float = Field(
        0.5, ge=0, le=1, description="share of a benchmark item's n-grams an item must contain to be contaminated "
        "(0 = any shared n-gram)")
    near_dup_threshold: float = Field(
        0.7, gt=0, lt=1, description="estimated Jaccard similarity (question + answer + choices) at or above which "
        "an item is a near-copy of a benchmark item")


class WarehouseSettings(BaseModel):
    """Where the tables live: the DuckDB file under the data dir, or a Parquet catalog."""

    catalog_url: SecretStr | None = Field(
        None, description="Postgres database of the warehouse's catalog (postgresql://user:password@host:port/db): "
        "tables are Parquet files per partition under files_dir that it names, so steps in separate processes "
        "or pods write at once; unset = the DuckDB file linksyn.duckdb under the data dir (one writer at a time)")
    files_dir: Path | None = Field(
        None, description="where the catalog's Parquet files live (a volume every step mounts); unset = "
        "warehouse/ under the data dir")

    # not checked here: pydantic repeats a rejected value in its errors, and this one holds a password
    _blank = field_validator("catalog_url", "files_dir", mode="before")(_blank_is_unset)


class LinkSynSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINKSYN_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(Path("./data"), description="where DuckDB, caches, local servers' state and releases live")
    executor: Literal["multiprocess", "in_process", "k8s"] = Field(
        "multiprocess", description="how a run executes its steps: multiprocess (Dagster's default: a process per "
        "step; a run's config may pick in_process), "
        "in_process, or k8s (one Kubernetes Job per step, dagster-k8s; see deploy/)")
    automation_interval_s: int = Field(
        30, ge=5, le=86400, description="seconds between two evaluations of the automation sensor "
        "(linksyn_automation), once it is turned on; Dagster's default is 30, and its daemon looks at "
        "sensors every 5 s at most")
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    seeds: SeedSettings = Field(default_factory=SeedSettings)
    walk: WalkSettings = Field(default_factory=WalkSettings)
    synthesis: SynthesisSettings = Field(default_factory=SynthesisSettings)
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)
    decontam: DecontamSettings = Field(default_factory=DecontamSettings)
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def duckdb_path(self) -> Path:
        return self.data_dir / "linksyn.duckdb"

    @cached_property
    def warehouse_files_dir(self) -> Path:
        """The Parquet files of the warehouse's catalog (LINKSYN_WAREHOUSE__CATALOG_URL)."""
        files_dir = self.warehouse.files_dir
        return files_dir.expanduser().resolve() if files_dir else self.data_dir / "warehouse"

    @cached_property
    def llm_cache_path(self) -> Path:
        return self.data_dir / "llm_cache.sqlite"

    @cached_property
    def release_dir(self) -> Path:
        return self.data_dir / "release"

    @cached_property
    def neo4j_home(self) -> Path:
        return self.data_dir / "neo4j"

    @cached_property
    def llm_server_dir(self) -> Path:
        return self.data_dir / "llm_server"

    @cached_property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"


def load_settings() -> LinkSynSettings:
    return LinkSynSettings()


def masked_url(url: str) -> str:
    """``url`` with the password in it (``scheme://user:password@host``) replaced by
    ``**********``; any other text unchanged. For messages, logs and the dataset card."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL one can split (e.g. a bad port): nothing to mask by its parts
        return url
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:**********@{host}"))
