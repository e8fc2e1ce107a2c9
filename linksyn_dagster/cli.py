"""``linksyn``: run the pipeline, manage the local services, open the Dagster UI.

Errors are one line on stderr and a non-zero exit code: 1 for a failed run, 2 for a usage
or configuration problem, 3 for a local service that cannot start."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from typing import Callable

from pydantic import ValidationError

EXIT_FAILED, EXIT_USAGE, EXIT_SERVICE = 1, 2, 3


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def _settings():
    """The settings of this command: the LINKSYN_* environment and ``.env``, read once here
    and passed on as an object (nothing below reads or writes the environment)."""
    from linksyn_dagster.settings import LinkSynSettings

    try:
        return LinkSynSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "__".join(str(p) for p in first["loc"]).upper()
        raise CliError(f"invalid setting LINKSYN_{field}: {first['msg']}") from None


def _service(kind: str):
    settings = _settings()
    if kind == "neo4j":
        from linksyn_dagster.services.neo4j_server import LocalNeo4j

        if settings.neo4j.uri:
            raise CliError(f"LINKSYN_NEO4J__URI is set ({settings.neo4j.uri}): LinkSyn uses that server "
                           "and does not manage a local one")
        return LocalNeo4j.from_settings(settings)
    from linksyn_dagster.services.llm_server import LocalLLMServer

    if settings.llm.model:
        raise CliError(f"LINKSYN_LLM__MODEL is set ({settings.llm.model}): LinkSyn uses that model "
                       "and does not serve a local one")
    return LocalLLMServer.from_settings(settings)


def cmd_service(args: argparse.Namespace) -> int:
    from linksyn_dagster.services.process import ServiceError

    service = _service(args.service)
    try:
        if args.action == "start":
            started = time.monotonic()
            service.start()
            print(f"{args.service}: running ({time.monotonic() - started:.1f}s) — "
                  + json.dumps(_public(service.status())))
        elif args.action == "stop":
            service.stop()
            print(f"{args.service}: stopped")
        else:
            status = service.status()
            print(json.dumps(_public(status), indent=2))
            return 0 if status.get("running") else EXIT_FAILED
    except ServiceError as exc:
        raise CliError(f"{args.service} {args.action}: {exc}", EXIT_SERVICE) from None
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from linksyn_dagster.services.process import ServiceError
    from linksyn_dagster.services.stack import LocalStack

    # the one use of the environment here: the stack's processes inherit this one's (their
    # code location reads the same LINKSYN_* settings from it)
    stack = LocalStack.from_settings(_settings(), os.environ, postgres_port=args.postgres_port,
                                     webserver_port=args.port)
    try:
        if args.action == "up":
            try:
                stack.check()
            except ServiceError as exc:  # something to install: a usage problem, not a crash
                raise CliError(f"stack up: {exc}", EXIT_USAGE) from None
            started = time.monotonic()
            status = stack.up()
            print(f"stack: up ({time.monotonic() - started:.1f}s); Dagster UI {status['webserver']['url']}")
            _print_stack(status)
        elif args.action == "down":
            stack.down()
            print(f"stack: stopped (data kept in {stack.home})")
        else:
            status = stack.status()
            _print_stack(status)
            return 0 if all(status[part]["running"] for part in ("postgres", "daemon", "webserver")) else EXIT_FAILED
    except ServiceError as exc:
        raise CliError(f"stack {args.action}: {exc}", EXIT_SERVICE) from None
    return 0


def _print_stack(status: dict) -> None:
    for part in ("postgres", "daemon", "webserver"):
        info = status[part]
        where = info.get("url") or info.get("log") or ""
        pid = f"pid {info['pid']}" if info.get("pid") else ""
        print(f"  {part:<10}{'up' if info['running'] else 'down':<6}{pid:<12}{where}")


def _public(status: dict) -> dict:
    return {k: v for k, v in status.items() if "password" not in k.lower() and "key" not in k.lower()}


def cmd_run(args: argparse.Namespace) -> int:
    from linksyn_dagster.pipeline import PipelineFailed, run_pipeline
    from linksyn_dagster.preflight import preflight

    settings = _settings()
    if args.demo:
        settings = demo_settings(settings)
    problems = preflight(settings)
    if problems:  # before anything starts: one line each, naming the setting and the fix
        raise CliError("\nlinksyn: ".join(problems), EXIT_USAGE)
    from rich.console import Console

    from linksyn_dagster.pipeline import log_file
    from linksyn_dagster.run_display import TerminalDisplay, listening, summary_tables

    console = Console()
    print(f"Dagster's log lines: {log_file(settings)}" + ("" if args.verbose else " (-v prints them here too)"))
    started = time.monotonic()
    display = TerminalDisplay(console)
    try:
        with display, listening(display.llm):
            summary = run_pipeline(settings, say=display.say, started=display.started,
                                   console_log_level="INFO" if args.verbose else "WARNING")
    except PipelineFailed as exc:
        raise CliError(f"pipeline failed: {exc}; the log: {log_file(settings)}", EXIT_FAILED) from None
    print(f"\ndone in {time.monotonic() - started:.0f}s: {summary.runs} Dagster runs")
    for table in summary_tables(settings, summary, display.seconds):
        console.print(table)
    if not summary.verification:
        print("  verification: off (LINKSYN_SYNTHESIS__VERIFIER_SAMPLES=0): answers not checked")
    elif summary.verified:
        print(f"  verification: {summary.verifier_dropped} of {summary.verified} chosen item(s) dropped because "
              "the verifier's majority answer was not their key"
              + (" (most: a tiny model's answers rarely agree with its own keys)"
                 if summary.verifier_dropped * 2 > summary.verified else ""))
    else:
        print("  verification: no item reached it (none was judged on the level it was asked for)")
    if summary.shortfall_items:
        print(f"  {summary.shortfall_items} item(s) short of the discipline x difficulty targets "
              "(the report lists every cell); the most short:")
        for cell in summary.short_cells[:3]:
            print(f"    {cell['discipline']} level {cell['level']}: {cell['shortfall']} short: {cell['why_short']}")
    print(f"report:  {settings.data_dir / 'reports' / 'distribution_report.md'}")
    if summary.failed_checks:
        print(f"asset checks that did not pass ({len(summary.failed_checks)}): " + ", ".join(summary.failed_checks))
    print("explore: `linksyn ui`, then http://127.0.0.1:3000 (the Dagster UI on this data); "
          "`linksyn neo4j status` prints Neo4j Browser's address")
    running = local_services_running(settings)
    if running:
        print("\nstill running, for exploring and for the next run (each stops with its command):")
        for line in running:
            print(f"  {line}")
    return 0


# paths the demo walks unless LINKSYN_WALK__PATHS_TOTAL says otherwise: with the local CPU model
# each path costs about 25 s of synthesis and judging, and 12 keep `make demo` under 15 minutes
DEMO_PATHS_TOTAL = 12


def demo_settings(settings):
    """The demo's settings: always the bundled seeds; unless they were set, DEMO_PATHS_TOTAL
    paths, one judge reading and one verifier solve per item, and the open release (no cell
    cap, no further round): a tiny model's judge puts nearly every item at level 1 or 2 and
    its verifier confirms few, so the cells of a 12-item release would keep almost nothing
    and every round would ask for more paths than 15 minutes allow. The report still
    measures every cell against its target."""
    walk, release, synthesis = settings.walk, settings.release, settings.synthesis
    if "paths_total" not in walk.model_fields_set:
        walk = walk.model_copy(update={"paths_total": DEMO_PATHS_TOTAL})
    release = release.model_copy(update={name: value for name, value in (("fill_cells", False), ("max_rounds", 0))
                                         if name not in release.model_fields_set})
    # a discipline's stage holds one or two items: one malformed reply of the tiny model is
    # half or all of it, so a low yield warns (listed at the end) instead of stopping the demo
    llm = settings.llm
    if "low_yield_blocks" not in llm.model_fields_set:
        llm = llm.model_copy(update={"low_yield_blocks": False})
    # one judge reading and one verifier solve per item: three of each cost the demo 5 minutes;
    # one version per synthesis or rewrite call: more pay only where the release holds its cells
    synthesis = synthesis.model_copy(update={name: 1 for name in ("judge_samples", "verifier_samples", "candidates")
                                             if name not in synthesis.model_fields_set})
    return settings.model_copy(update={"seeds": settings.seeds.model_copy(update={"source_dir": None}),
                                       "walk": walk, "release": release, "synthesis": synthesis, "llm": llm})


def local_services_running(settings) -> list[str]:
    """One line per local service LinkSyn started that is still up: what, where, how to stop it.

    The services are left running on purpose: the graph is there to explore in Neo4j Browser,
    and the next run, `linksyn ui` and its launches reuse them instead of paying the start-up."""
    from linksyn_dagster.services.llm_server import LocalLLMServer
    from linksyn_dagster.services.neo4j_server import LocalNeo4j

    lines = []
    if not settings.neo4j.uri:
        neo4j = LocalNeo4j.from_settings(settings).status()
        if neo4j["running"]:
            guide = f", its guide {neo4j['guide_url']}" if neo4j.get("guide_url") else ""
            lines.append(f"Neo4j   {neo4j['uri']}, Browser {neo4j['http_url']}/browser/{guide} (pid {neo4j['pid']})"
                         "  stop: linksyn neo4j stop")
    if not settings.llm.model:
        llm = LocalLLMServer.from_settings(settings).status()
        if llm["running"]:
            lines.append(f"model   {llm['api_base']} ({llm['model']}, pid {llm['pid']})  stop: linksyn llm stop")
    return lines


_WORKSPACE = """load_from:
  - python_module:
      module_name: linksyn_dagster.definitions
      location_name: linksyn
"""


def cmd_ui(args: argparse.Namespace) -> int:
    from linksyn_dagster.pipeline import instance_home

    settings = _settings()
    instance_home(settings)
    # the code location, written beside the instance (the repository's workspace.yaml is
    # not in an installed wheel); the same module and location name
    workspace = settings.dagster_home / "workspace.yaml"
    workspace.write_text(_WORKSPACE, encoding="utf-8")
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)")
    try:
        # the one use of the environment here: `dagster dev` inherits this process's (its
        # code location reads the same LINKSYN_* settings from it), with DAGSTER_HOME added
        return subprocess.call(cmd, env={**os.environ, "DAGSTER_HOME": str(settings.dagster_home)})
    except KeyboardInterrupt:
        return 0


def cmd_status(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from linksyn_dagster.status import ago, asset_statuses, dir_size, human_bytes

    settings = _settings()
    table = Table(title=f"assets on {settings.data_dir}", title_justify="left")
    for name in ("asset", "group", "materialized", "last materialized"):
        table.add_column(name, justify="right" if name == "materialized" else "left")
    now = time.time()
    for row in asset_statuses(settings):
        done = f"{row.materialized}/{row.partitions} partitions" if row.partitions is not None else \
            ("yes" if row.materialized else "no")
        table.add_row(row.asset, row.group, done, ago(row.last, now))
    console = Console()
    console.print(table)
    print(f"data dir: {settings.data_dir} ({human_bytes(dir_size(settings.data_dir))})")
    running = local_services_running(settings)
    print("local services running:" + ("" if running else " none"))
    for line in running:
        print(f"  {line}")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from linksyn_dagster.estimate import estimate_for

    settings = _settings()
    if args.demo:
        settings = demo_settings(settings)
    estimate = estimate_for(settings)
    table = Table(title=f"estimate: {estimate.seeds} seeds, {estimate.paths} paths ({estimate.paths_basis})",
                  title_justify="left")
    for name in ("stage", "calls", "prompt tok", "completion tok", "USD", "per call"):
        table.add_column(name, justify="left" if name in ("stage", "per call") else "right", no_wrap=True)
    for stage in estimate.stages:
        table.add_row(stage.stage, f"{stage.calls:,}", f"{stage.prompt_tokens:,}", f"{stage.completion_tokens:,}",
                      "unknown" if stage.cost_usd is None else f"{stage.cost_usd:.4f}", stage.basis)
    costs = [s.cost_usd for s in estimate.stages]
    table.add_row("total", f"{estimate.calls:,}", f"{sum(s.prompt_tokens for s in estimate.stages):,}",
                  f"{sum(s.completion_tokens for s in estimate.stages):,}",
                  "unknown" if None in costs else f"{sum(costs):.4f}", "", style="bold")
    Console().print(table)
    print("calls answered before (the result store) are not paid again; per-call figures 'measured here' come "
          "from this data dir's earlier runs")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from linksyn_dagster.publish.provenance import masked_settings

    settings = _settings()
    sections = [name for name in type(settings).model_fields if name != "data_dir"]
    # secrets print as '**********', and so does the password of a URL given with one
    print(json.dumps(masked_settings(settings, sections), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linksyn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole pipeline on the bundled demo seeds (offline defaults)",
                          description="Materialize every asset on the bundled demo seeds.")
    demo.set_defaults(func=cmd_run, demo=True)
    demo.add_argument("-v", "--verbose", action="store_true", help="print Dagster's log lines here too")
    run = sub.add_parser("run", help="run the whole pipeline on the configured seeds and model",
                         description="Materialize every asset with the current LINKSYN_* settings.")
    run.set_defaults(func=cmd_run, demo=False)
    run.add_argument("-v", "--verbose", action="store_true", help="print Dagster's log lines here too")

    for name, what in (("neo4j", "the local Neo4j Community server"), ("llm", "the local llama.cpp model server")):
        service = sub.add_parser(name, help=f"start, stop or inspect {what}",
                                 description=f"Manage {what} (127.0.0.1 only).")
        service.add_argument("action", choices=["start", "stop", "status"])
        service.set_defaults(func=cmd_service, service=name)

    stack = sub.add_parser("stack", help="the deployment's Dagster instance on this machine: Postgres, daemon, "
                           "webserver", description="Start, stop or inspect the production-shaped local stack: "
                           "deploy/dagster.yaml with a local run launcher (PostgreSQL storage, the Dagster daemon "
                           "and webserver as separate processes, the queue's limits, run monitoring and retries). "
                           "Its state lives under <data dir>/stack; `down` keeps it.")
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.add_argument("--port", type=int, default=None,
                       help="the webserver's port (default: the one used before, else 3000 or a free one)")
    stack.add_argument("--postgres-port", type=int, default=None,
                       help="PostgreSQL's port (default: the one used before, else a free one)")
    stack.set_defaults(func=cmd_stack)

    ui = sub.add_parser("ui", help="open the Dagster UI on this project",
                        description="Run `dagster dev` on workspace.yaml with the project's Dagster instance.")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    ui.set_defaults(func=cmd_ui)

    estimate = sub.add_parser("estimate", help="the LLM calls, tokens and cost the configured run would need",
                              description="Print, per stage, the LLM calls, tokens and cost `linksyn run` (or, "
                              "with --demo, `linksyn demo`) would make with the current settings, before any call.")
    estimate.add_argument("--demo", action="store_true", help="estimate `linksyn demo` instead of `linksyn run`")
    estimate.set_defaults(func=cmd_estimate)

    status = sub.add_parser("status", help="what is materialized, how fresh, the data dir's size, the services up",
                            description="Print each asset's materialized partitions and freshness on the data "
                            "dir, its size, and the local services that are running.")
    status.set_defaults(func=cmd_status)

    settings = sub.add_parser("settings", help="print the effective settings (secrets masked)",
                              description="Print the settings LINKSYN_* variables and .env resolve to.")
    settings.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    from linksyn_dagster.services.process import restore_default_interrupts

    # started as `linksyn run &` from a script, SIGINT is ignored; Dagster would pass that on
    # to SIGTERM, and neither this process nor its children could be stopped cleanly
    restore_default_interrupts()
    # Dagster flags the instance's log handlers (the log file, the progress display) as beta
    # at every run; the warning says nothing a user of linksyn can act on
    warnings.filterwarnings("ignore", message="Handling yaml-defined logging configuration")
    # a run of one partition of assets of which some are partitioned with a backfill policy
    # and some without: Dagster names the policy it picks, which is all the same for one partition
    warnings.filterwarnings("ignore", message="Asset job __ephemeral_asset_job__ materializes assets with varying")
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except CliError as exc:
        print(f"linksyn: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("linksyn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
