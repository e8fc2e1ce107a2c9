"""Running the whole pipeline from the command line (``linksyn demo`` / ``linksyn run``).

The same assets the Dagster UI shows, materialized in dependency order through Dagster
itself, on the persistent instance under ``<data dir>/dagster_home`` so every run, its logs
and metadata are there to inspect in ``linksyn ui`` afterwards."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dagster as dg
import polars as pl

from linksyn_dagster.core.seed_cache import CACHE_DIR, cached_seed_load
from linksyn_dagster.core.seeds import demo_seed_dir
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.defs.release.assets import NEXT_ROUND
from linksyn_dagster.preflight import missing_paths
from linksyn_dagster.queries import sql
from linksyn_dagster.resources.warehouse import read_warehouse
from linksyn_dagster.services.process import restore_default_interrupts
from linksyn_dagster.settings import LinkSynSettings

_INSTANCE_CONFIG = """# Written by linksyn: a local instance for `linksyn demo/run` and `linksyn ui`.
telemetry:
  enabled: false
# a backfill of every discipline launches one run per partition: at most 4 at a time, so a
# laptop is not buried in processes (runs wait in the queue, the daemon starts them)
concurrency:
  runs:
    max_concurrent_runs: 4
# compute logs: Dagster's default local manager, on purpose: the UI shows each step's stdout and
# stderr. It mirrors them with `tail -F` children, which stop on SIGTERM as long as SIGTERM is
# not ignored; `linksyn` and run_pipeline make sure of that (restore_default_interrupts).
# Dagster's log lines of every run (from INFO up) go to a file under the data dir, and the LLM
# progress lines to the live display of `linksyn run` when it is the process running them.
python_logs:
  dagster_handler_config:
    handlers:
      linksyn_file:
        class: logging.FileHandler
        filename: {log_file}
        delay: true
        level: INFO
        formatter: linksyn
      linksyn_progress:
        class: linksyn_dagster.run_display.ProgressLogHandler
        level: INFO
    formatters:
      linksyn:
        format: "%(asctime)s %(levelname)s %(message)s"
"""




def _console(level: str) -> dict:
    """Run config of Dagster's console logger: the lines it prints from ``level`` up (every
    event is still in the instance, and INFO and up in the log file under the data dir)."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


class PipelineFailed(RuntimeError):
    pass


WALK_PLAN = "walk_plan"  # the asset further rounds re-materialize with their request as run config


@dataclass(frozen=True)
class Stage:
    """Assets materialized together: one run, or one run per partition when ``partitioned``."""
    assets: tuple[str, ...]
    partitioned: bool


def pipeline_stages(definitions: dg.Definitions) -> list[Stage]:
    """The materializable assets in dependency order, cut where the partitioning changes:
    an asset joins the stage of its parents unless it is partitioned and they are not (or
    the other way round). For LinkSyn: the seed stages per discipline, the graph and walk
    plan, the path stages per start discipline, the release. ``linksyn run``, ``linksyn
    demo`` and the tests that drive stages one by one all take the order from here."""
    graph = definitions.resolve_asset_graph()
    level: dict[dg.AssetKey, int] = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitioned = node.partitions_def is not None
        level[key] = max((level[p] + ((graph.get(p).partitions_def is not None) != partitioned)
                          for p in node.parent_keys if p in level), default=0)
    stages: list[Stage] = []
    for number in range(max(level.values(), default=-1) + 1):
        keys = [k for k in graph.toposorted_asset_keys if level.get(k) == number]
        stages.append(Stage(tuple(k.to_user_string() for k in keys), graph.get(keys[0]).partitions_def is not None))
    return stages


# One pipeline per process at a time. Dagster reconfigures Python logging (dictConfig) at
# every run; two runs in two threads of one process take logging's module lock and a
# handler's lock in opposite orders and deadlock for good. A second caller is refused at once.
_ONE_PIPELINE = threading.Lock()


@dataclass
class PipelineSummary:
    seed_disciplines: list[str]
    path_disciplines: list[str]
    runs: int = 0
    failed_checks: list[str] = field(default_factory=list)
    rounds: list[dict[str, dict[str, int]]] = field(default_factory=list)  # the further rounds walked
    shortfall_items: int = 0  # items the release's cells still miss at the end
    short_cells: list[dict] = field(default_factory=list)  # those cells: discipline, level, shortfall, why_short
    released: int = 0
    verifier_dropped: int = 0  # chosen items a majority of the verifier's answers did not confirm
    verified: int = 0  # chosen items the verifier solved
    verification: bool = True  # whether items are verified at all (verifier_samples > 0)
    release_version: str = ""
    cells: list[dict] = field(default_factory=list)  # every discipline x level cell: target, released, ...
    tokens_released: int = 0
    tokens_target: int = 0  # 0: no token budget


def _root_cause(error) -> str:
    """The user's exception behind Dagster's wrapping ("Error occurred while executing op"):
    the innermost cause, one line."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = [line for line in (error.message or "").strip().splitlines() if line.strip()]
    if not lines:
        return error.cls_name or "run failed"
    first = lines[0] if not lines[0].startswith(f"{error.cls_name}:") else lines[0][len(error.cls_name) + 1:].strip()
    return f"{error.cls_name}: {first}" if error.cls_name else first


def _failure_detail(result: dg.ExecuteInProcessResult) -> str:
    """Why a run failed, one line: the blocking checks that failed it, with what they found
    (an LLM stage's yield names its failure classes), else the failing step's exception."""
    blocked = [e.event_specific_data for e in result.all_events
               if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.blocking
               and not e.event_specific_data.passed
               and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR]
    if blocked:
        return "; ".join(f"blocking check {c.asset_key.to_user_string()}:{c.check_name} failed"
                         + (f": {c.description}" if c.description else "") for c in blocked)
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return _root_cause(failures[0].event_specific_data.error) if failures else "run failed"


def log_file(settings: LinkSynSettings) -> Path:
    """Where Dagster's log lines of every run on this data dir go."""
    return settings.data_dir / "logs" / "dagster.log"


def instance_home(settings: LinkSynSettings) -> Path:
    """The Dagster instance's directory under the data dir, with its ``dagster.yaml``
    (written by linksyn, and again when this version of it differs)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    log_file(settings).parent.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = _INSTANCE_CONFIG.replace("{log_file}", json.dumps(str(log_file(settings))))
    if not config.exists() or config.read_text(encoding="utf-8") != text:
        config.write_text(text, encoding="utf-8")
    return home


def prepare_instance(settings: LinkSynSettings) -> dg.DagsterInstance:
    """The persistent instance under the data dir, opened from its directory: this process's
    environment (DAGSTER_HOME) is neither read nor written."""
    return dg.DagsterInstance.from_config(str(instance_home(settings)))


def run_pipeline(settings: LinkSynSettings, say: Callable[[str], None] = print, *,
                 started: Callable[[str], None] | None = None, console_log_level: str = "INFO") -> PipelineSummary:
    """Materialize every asset: seed stages per discipline, the graph, path stages per start
    discipline, then the release. Raises PipelineFailed with the failing step's message, or at
    once when another thread of this process is running a pipeline.

    ``say`` gets the messages; ``started`` (default: ``say`` of "→ <label>") the label of each
    Dagster run as it starts: its assets and partition. ``console_log_level``: the Dagster log
    lines printed (the CLI prints none below WARNING; they are in the log file)."""
    if not _ONE_PIPELINE.acquire(blocking=False):
        raise PipelineFailed("another pipeline is running in this process: Dagster cannot run two at once in "
                             "one process (their logging locks deadlock); run it in another process")
    try:
        return _run_pipeline(settings, say, started or (lambda label: say(f"→ {label}")),
                             _console(console_log_level))
    finally:
        _ONE_PIPELINE.release()


def _run_pipeline(settings: LinkSynSettings, say: Callable[[str], None], started: Callable[[str], None],
                  console: dict) -> PipelineSummary:
    restore_default_interrupts()  # see there: else SIGTERM ends up ignored after the first run
    from linksyn_dagster.definitions import build_definitions

    missing = missing_paths(settings)
    if missing:
        raise PipelineFailed(missing[0])  # before anything is created or loaded
    instance = prepare_instance(settings)
    definitions = build_definitions(settings)  # the resources come from these settings, not the environment
    assets = [*(definitions.assets or []), *(definitions.asset_checks or [])]  # the standalone checks run too
    resources = definitions.resources

    source = settings.seeds.source_dir or demo_seed_dir()
    # the parse is cached: the seed_qa runs below read it instead of parsing every file again
    parsed = cached_seed_load(source, settings.seeds.max_field_chars, settings.data_dir / CACHE_DIR)
    seed_disciplines = sorted(parsed.scan().select(pl.col("discipline").unique()).collect()
                              .get_column("discipline").to_list())
    if not seed_disciplines:
        raise PipelineFailed(f"no loadable seeds in {source}; see seed_rejects after `linksyn run`")
    summary = PipelineSummary(seed_disciplines, [])
    checks: dict[str, bool] = {}

    def materialize(selection: list[str], partition: str | None, config: dict | None = None,
                    round_number: int = 0) -> dg.ExecuteInProcessResult:
        label = f"{', '.join(selection)}" + (f" [{partition}]" if partition else "")
        started(label)
        result = dg.materialize(assets, selection=selection, partition_key=partition, instance=instance,
                                resources=resources, raise_on_error=False,
                                tags={"linksyn/launched_by": "cli", "linksyn/round": str(round_number)},
                                run_config={**console, **({"ops": config} if config else {})})
        summary.runs += 1
        for event in result.all_events:
            evaluation = event.event_specific_data
            if event.event_type_value == "ASSET_CHECK_EVALUATION":  # a later round's result replaces an earlier
                checks[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                       + (f" [{partition}]" if partition else "")] = evaluation.passed
        if not result.success:
            raise PipelineFailed(f"{label}: {_failure_detail(result)}")
        return result

    say(f"seeds from {source}: disciplines {', '.join(seed_disciplines)}")
    stages = pipeline_stages(definitions)
    walk = next(n for n, stage in enumerate(stages) if WALK_PLAN in stage.assets)
    release: dict = {}
    # the round limit is the walk plan's run config, as in the UI: the plan records it, and
    # its release's why_short names it
    max_rounds = settings.release.max_rounds

    def run_stages(first: int, path_disciplines: list[str] | None, round_number: int = 0) -> None:
        """Stages from ``first`` on: a partitioned stage upstream of the walk plan runs each
        discipline with seeds, one downstream of it each start discipline given paths (those
        the stored plan has, unless a round names its own)."""
        nonlocal release
        for number in range(first, len(stages)):
            stage = stages[number]
            if stage.partitioned:
                for discipline in (path_disciplines if number > walk else seed_disciplines):
                    materialize(list(stage.assets), discipline, round_number=round_number)
                continue
            result = materialize(list(stage.assets), None, {WALK_PLAN: {"config": {"max_rounds": max_rounds}}}
                                 if WALK_PLAN in stage.assets else None, round_number)
            if "linkqa_dataset" in stage.assets:
                release = _release_metadata(result)
            if number == walk and path_disciplines is None:
                walked = _paths_per_discipline(settings)
                summary.path_disciplines = path_disciplines = list(walked)
                say("paths per start discipline: " + ", ".join(f"{d}={n}" for d, n in walked.items()))

    run_stages(0, None)

    # further rounds: the walk plan walks on for the cells the release misses, as the release
    # asks (its `next_round_request`); only the partitions given new paths run again, and
    # every answered LLM call of earlier rounds comes from the result store
    limit = max_rounds if settings.release.fill_cells else 0
    while len(summary.rounds) < limit and release[NEXT_ROUND].value:
        request = release[NEXT_ROUND].value
        summary.rounds.append(request)
        number = len(summary.rounds)
        say(f"round {number}: {release['shortfall_items'].value} item(s) short in {release['cells_short'].value} "
            f"cell(s); walking {sum(sum(levels.values()) for levels in request.values())} more path(s)")
        materialize([WALK_PLAN], None, {WALK_PLAN: {"config": {"rounds": summary.rounds, "max_rounds": max_rounds}}},
                    number)
        run_stages(walk + 1, [d for d in DISCIPLINES if d in request], number)
    summary.shortfall_items = int(release["shortfall_items"].value)
    summary.cells = [dict(r.data) for r in release["cells"].records]
    summary.short_cells = sorted((c for c in summary.cells if c["shortfall"]),
                                 key=lambda c: (-c["shortfall"], c["discipline"], c["level"]))
    summary.release_version = str(release["release_version"].value)
    summary.tokens_released = int(release["tokens_released"].value)
    summary.tokens_target = int(release["tokens_target"].value)
    summary.released = int(release["dagster/row_count"].value)
    summary.verifier_dropped = int(release["verifier_dropped"].value)
    summary.verified = sum(release["verdicts"].value.values())
    summary.verification = settings.synthesis.verifier_samples > 0
    summary.failed_checks = [name for name, passed in checks.items() if not passed]
    return summary


def _paths_per_discipline(settings: LinkSynSettings) -> dict[str, int]:
    """The stored walk plan's paths per start discipline that has any, in taxonomy order."""
    with read_warehouse(settings) as conn:
        walked = dict(conn.execute(sql("plan_paths_per_discipline")).fetchall()) if conn is not None else {}
    return {d: walked[d] for d in DISCIPLINES if walked.get(d, 0) > 0}


def _release_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = [m for m in result.asset_materializations_for_node("linkqa_dataset")
                          if m.asset_key == dg.AssetKey("linkqa_dataset")]  # not its side tables
    return materialization.metadata
