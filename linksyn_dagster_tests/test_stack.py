"""The production-shaped local stack (``linksyn stack``) run for real: deploy/dagster.yaml
with the DefaultRunLauncher, on PostgreSQL, with the Dagster daemon and webserver as
separate processes. Everything is driven the way an operator would, through the webserver's
GraphQL API; the daemon does the rest (queue, backfills, schedules, run retries).

One stack for the module (starting it costs ~20 s), on the bundled demo seeds and the
scripted LLM server, with the warehouse's catalog and the LLM result store in the stack's
Postgres, as deploy/ has them; the selections are the seed stages (``seed_qa``, ``seed_kps``: no graph,
so no Neo4j). Runs execute in process (LINKSYN_EXECUTOR=in_process): a run is one process,
the run worker, which is what a kill hits.

Each test leaves the stack up for the next; the fixture stops it (daemon, webserver, their
code servers and runs, Postgres) even when a test fails, and removes its data."""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from linksyn_dagster.resources.warehouse import read_warehouse
from linksyn_dagster.services import process
from linksyn_dagster.services.stack import DEPLOY_INSTANCE, LocalStack, graphql, stack_instance_config
from linksyn_dagster.settings import LinkSynSettings

# the backfill starts 25 run processes at once: `make test` runs this file alone, after the
# others, rather than beside another test file (its runs then took 2.5 times as long)
pytestmark = [pytest.mark.slow, pytest.mark.alone]

LOCATION = {"repositoryLocationName": "linksyn", "repositoryName": "__repository__"}
ACTIVE = ["STARTING", "STARTED", "CANCELING"]  # what the queue counts against its limits
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

_RUNS = """query($f: RunsFilter) { runsOrError(filter: $f) { __typename
  ... on Runs { results { runId status startTime endTime jobName tags { key value } } }
  ... on PythonError { message } } }"""
_LAUNCH_RUN = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
_LAUNCH_BACKFILL = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
_BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status } ... on PythonError { message } } }"""
_LOGS = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { __typename
  ... on MessageEvent { message } } } } }"""


@pytest.fixture(scope="module")
def stack(scripted_llm) -> Iterator[LocalStack]:
    # under /tmp, searchable by others: as root, Postgres runs as 'postgres', which cannot
    # enter pytest's 0700 temp dirs
    home = Path(tempfile.mkdtemp(prefix="linksyn-stack-"))
    home.chmod(0o711)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINKSYN_", "DAGSTER_"))}
    env.update({
        "LINKSYN_TEST_RUN": os.environ.get("LINKSYN_TEST_RUN", ""),  # the survivors check finds them by it
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LINKSYN_EXECUTOR": "in_process",
        "LINKSYN_LLM__MODEL": scripted_llm.litellm_model,
        "LINKSYN_LLM__API_BASE": scripted_llm.api_base,
        "LINKSYN_LLM__API_KEY": "scripted-test-key",
        "LINKSYN_LLM__CONCURRENCY": "2",
        "LINKSYN_SEEDS__SCHEDULE_CRON": "* * * * *",  # the schedule's test waits for one tick
    })
    stack = LocalStack(home / "data" / "stack", {**env, "LINKSYN_DATA_DIR": str(home / "data")},
                       postgres_port=process.free_port(), webserver_port=process.free_port())
    try:
        stack.up(timeout=240)
        yield stack
    finally:
        try:
            stack.down()
        finally:
            shutil.rmtree(home, ignore_errors=True)


def _settings(stack: LocalStack) -> LinkSynSettings:
    """The settings the stack's runs have: its data dir, and the warehouse catalog and result
    store in its Postgres."""
    env = stack.env()
    return LinkSynSettings(data_dir=stack.home.parent,
                           warehouse={"catalog_url": env["LINKSYN_WAREHOUSE__CATALOG_URL"]},
                           llm={"result_store_url": env["LINKSYN_LLM__RESULT_STORE_URL"]})


def _runs(stack: LocalStack, **run_filter) -> list[dict]:
    result = graphql(stack.url, _RUNS, {"f": run_filter})["runsOrError"]
    assert result["__typename"] == "Runs", result
    return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in result["results"]]


def _launch_seed_run(stack: LocalStack, partition: str) -> str:
    params = {"selector": {**LOCATION, "jobName": "seed_stages_job"},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}
    result = graphql(stack.url, _LAUNCH_RUN, {"p": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def _why_failed(stack: LocalStack, runs: list[dict]) -> str:
    """The last log lines of each failed run among ``runs``, for an assertion's message."""
    lines = []
    for run in runs:
        if run["status"] == "FAILURE":
            events = graphql(stack.url, _LOGS, {"id": run["runId"]})["logsForRun"].get("events", [])
            messages = [e.get("message") or "" for e in events if e.get("message")]
            lines.append(f"{run['runId']} {run['tags'].get('dagster/partition')}: {' | '.join(messages[-4:])[:1500]}")
    return "\n".join(lines) or "no run failed"


def _wait(what: str, timeout: float, check, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(interval)


def _sql(settings: LinkSynSettings, query: str) -> list[tuple]:
    with read_warehouse(settings) as conn:
        return conn.execute(query).fetchall()


def _stored(settings: LinkSynSettings, stage: str) -> int:
    with psycopg.connect(settings.llm.result_store_url.get_secret_value()) as conn:
        try:
            return conn.execute("SELECT count(*) FROM llm_results WHERE stage = %s", (stage,)).fetchone()[0]
        except psycopg.errors.UndefinedTable:  # no run has created it yet
            return 0


def _seed_tables(settings: LinkSynSettings, partition: str) -> dict[str, list]:
    return {
        "seed_qa": sorted(_sql(settings, f"SELECT seed_id, discipline, question FROM seed_qa "
                                         f"WHERE discipline = '{partition}'")),
        "seed_kps": sorted(_sql(settings, f"SELECT seed_id, kp_rank, kp_name FROM seed_kps "
                                          f"WHERE discipline = '{partition}'")),
        "llm_usage": sorted(_sql(settings, f"SELECT stage, item_id FROM llm_usage WHERE partition_key = '{partition}'")),
    }


def test_the_stack_runs_deploys_instance_with_only_the_launcher_replaced(stack):
    """What the daemon and webserver load is deploy/dagster.yaml's queue, monitoring and
    retries (cheap: reads the files the fixture's `up` wrote)."""
    deploy = yaml.safe_load(DEPLOY_INSTANCE.read_text())
    written = yaml.safe_load((stack.dagster_home / "dagster.yaml").read_text())
    assert written == stack_instance_config(deploy, stack.postgres_port)
    for section in ("run_coordinator", "run_retries", "telemetry"):
        assert written[section] == deploy[section], section
    assert written["run_launcher"]["class"] == "DefaultRunLauncher" != deploy["run_launcher"]["class"]
    assert {k: v for k, v in written["run_monitoring"].items() if k != "max_resume_run_attempts"} == \
        {k: v for k, v in deploy["run_monitoring"].items() if k != "max_resume_run_attempts"}
    assert written["run_retries"]["enabled"] and written["run_monitoring"]["enabled"]
    assert stack.password_file.stat().st_mode & 0o777 == 0o600
    assert stack.password_file.read_text().strip() not in (stack.dagster_home / "dagster.yaml").read_text()
    status = stack.status()
    assert all(status[part]["running"] for part in ("postgres", "daemon", "webserver")), status
    assert stack.up()["webserver"]["pid"] == status["webserver"]["pid"]  # idempotent: nothing restarted


def test_a_run_worker_killed_mid_stage_is_retried_and_pays_for_nothing_twice(stack, llm_server, tmp_path):
    settings, partition = _settings(stack), "biology"
    llm_server.configure(latency_s=0.4)  # slow answers, so the kill lands between calls
    run_id = _launch_seed_run(stack, partition)

    def worker_pid() -> int | None:
        events = graphql(stack.url, _LOGS, {"id": run_id})["logsForRun"].get("events", [])
        found = [re.search(r"Started process for run \(pid: (\d+)\)", e.get("message") or "") for e in events]
        return next((int(m.group(1)) for m in found if m), None)

    pid = _wait("the run worker's pid in the run's log", 120, worker_pid)
    _wait("3 KP extractions stored", 120, lambda: _stored(settings, "kp_extraction") >= 3, interval=0.05)
    answered = llm_server.stats()["successes"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(1.0)  # calls in flight at the kill are answered to nobody
    answered_before_kill = llm_server.stats()["successes"]
    stored_before_kill = _stored(settings, "kp_extraction")
    seeds = _sql(settings, f"SELECT count(*) FROM seed_qa WHERE discipline = '{partition}'")[0][0]
    assert 3 <= stored_before_kill < seeds, "the kill should land mid-stage"
    assert answered_before_kill - answered <= 2  # only the calls in flight

    killed = _wait("the killed run marked failed", 60,
                   lambda: next((r for r in _runs(stack, runIds=[run_id]) if r["status"] in FINISHED), None))
    assert killed["status"] == "FAILURE"
    llm_server.configure(latency_s=0.0)
    retry = _wait("the retry run succeeded", 180, lambda: next(
        (r for r in _runs(stack, tags=[{"key": "dagster/parent_run_id", "value": run_id}])
         if r["status"] in FINISHED), None))
    assert retry["status"] == "SUCCESS", retry
    assert retry["tags"]["dagster/retry_number"] == "1" and retry["tags"]["dagster/partition"] == partition
    logs = [e.get("message") or "" for e in graphql(stack.url, _LOGS, {"id": run_id})["logsForRun"]["events"]]
    assert any("signal 9" in m or "SIGKILL" in m for m in logs), logs[-5:]  # the code server saw the kill

    stats = llm_server.stats()
    # the retry asked for exactly what was not stored, and nothing stored was asked again
    assert stats["successes"] - answered_before_kill == seeds - stored_before_kill
    repeated = [h for h, n in stats["success_by_hash"].items() if n > 1]
    assert len(repeated) <= answered_before_kill - stored_before_kill
    after_retry = _seed_tables(settings, partition)

    # the same run never killed, in a data dir of its own, in this process
    import dagster as dg

    from linksyn_dagster.definitions import build_definitions

    fresh = LinkSynSettings(data_dir=tmp_path / "fresh", executor="in_process", llm={
        "model": llm_server.litellm_model, "api_base": llm_server.api_base, "api_key": "scripted-test-key"})
    job = build_definitions(fresh).resolve_job_def("seed_stages_job")
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance, partition_key=partition).success
    assert _seed_tables(fresh, partition) == after_retry
    assert len(after_retry["seed_kps"]) == len(set(after_retry["seed_kps"])) > 0


def test_a_backfill_of_every_partition_completes_within_the_queues_limits(stack, llm_server):
    """The seed stages of all 22 disciplines, launched as a backfill through GraphQL, plus
    three more runs of one partition at the same time: the queue holds the fourth run of
    that partition back (2 per partition) and never starts more than 24. Polled throughout."""
    config = yaml.safe_load((stack.dagster_home / "dagster.yaml").read_text())["run_coordinator"]["config"]
    max_runs, per_partition = config["max_concurrent_runs"], config["tag_concurrency_limits"][0]["limit"]
    extra = [_launch_seed_run(stack, "physics") for _ in range(3)]
    params = {"assetSelection": [{"path": ["seed_qa"]}, {"path": ["seed_kps"]}], "allPartitions": True}
    result = graphql(stack.url, _LAUNCH_BACKFILL, {"p": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill = result["backfillId"]

    most, most_per_partition, samples = 0, 0, 0
    deadline = time.monotonic() + 600
    while True:
        active = _runs(stack, statuses=ACTIVE)
        per = {}
        for run in active:
            key = run["tags"].get("dagster/partition")
            if key:
                per[key] = per.get(key, 0) + 1
        assert len(active) <= max_runs, f"{len(active)} runs in progress"
        assert max(per.values(), default=0) <= per_partition, per
        most, most_per_partition = max(most, len(active)), max(most_per_partition, *per.values(), 0)
        samples += 1
        status = graphql(stack.url, _BACKFILL, {"id": backfill})["partitionBackfillOrError"]["status"]
        ours = [r for r in _runs(stack, runIds=extra) if r["status"] not in FINISHED]
        if status != "REQUESTED" and not ours:
            break
        assert time.monotonic() < deadline, f"backfill {status} after 600 s; runs of physics left: {len(ours)}"
        time.sleep(0.5)
    backfill_runs = _runs(stack, tags=[{"key": "dagster/backfill", "value": backfill}])
    assert status == "COMPLETED_SUCCESS", _why_failed(stack, backfill_runs + _runs(stack, runIds=extra))
    assert backfill_runs and all(r["status"] == "SUCCESS" for r in backfill_runs)
    from linksyn_dagster.core.taxonomy import DISCIPLINES

    kps_runs = {r["tags"].get("dagster/partition") for r in backfill_runs}
    assert set(DISCIPLINES) <= kps_runs  # a run per discipline (seed_kps), besides seed_qa's range run
    assert all(r["status"] == "SUCCESS" for r in _runs(stack, runIds=extra))
    # 22 + 3 run processes wrote the warehouse's catalog and the result store at once: every
    # row once, every discipline's seeds extracted (a lock error would have failed a run)
    settings = _settings(stack)
    (kps, distinct_kps), = _sql(settings, "SELECT count(*), count(DISTINCT (seed_id, kp_rank)) FROM seed_kps")
    (seeds, distinct_seeds), = _sql(settings, "SELECT count(*), count(DISTINCT seed_id) FROM seed_qa")
    assert kps == distinct_kps > 0 and seeds == distinct_seeds > 0
    assert {d for d, in _sql(settings, "SELECT DISTINCT discipline FROM seed_kps")} == \
        {d for d, in _sql(settings, "SELECT DISTINCT discipline FROM seed_qa")}
    assert samples >= 10 and most >= 2 and most_per_partition >= 1
    # the same limits, from the runs' own start and end times
    physics = sorted((r["startTime"], r["endTime"]) for r in _runs(stack, tags=[
        {"key": "dagster/partition", "value": "physics"}]) if r["startTime"])
    overlap = max(sum(1 for s, e in physics if s <= start < e) for start, _ in physics)
    assert overlap <= per_partition


def test_postgres_restarted_mid_backfill_the_daemon_recovers_and_the_backfill_completes(stack):
    postgres = stack.postgres()
    params = {"assetSelection": [{"path": ["seed_qa"]}], "allPartitions": True}
    result = graphql(stack.url, _LAUNCH_BACKFILL, {"p": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill = result["backfillId"]
    # once its run is queued: the daemon is mid-way through the backfill
    _wait("the backfill's run", 120, lambda: _runs(stack, tags=[{"key": "dagster/backfill", "value": backfill}]))
    postgres.stop()
    time.sleep(5)  # the daemon's loops meet a database that refuses connections
    assert process.read_pid(stack._pid_file("daemon")) is not None
    postgres.start()
    def finished() -> str | None:
        try:
            status = graphql(stack.url, _BACKFILL, {"id": backfill})["partitionBackfillOrError"]["status"]
        except process.ServiceError:  # the webserver's first query on a pooled connection the restart closed
            return None
        return None if status == "REQUESTED" else status

    status = _wait("the backfill finished", 240, finished, interval=1.0)
    # every part of the daemon heartbeats again (into the restarted database)
    _wait("the daemon healthy", 120, lambda: (lambda s: s and all(s.values()))(stack.daemon_statuses()))
    assert status == "COMPLETED_SUCCESS", status
    assert stack.status()["daemon"]["running"]
    runs = _runs(stack, tags=[{"key": "dagster/backfill", "value": backfill}])
    assert runs and all(r["status"] == "SUCCESS" for r in runs)


def test_a_tick_of_the_seed_schedule_in_the_daemon_launches_the_per_partition_runs(stack):
    from linksyn_dagster.core.taxonomy import DISCIPLINES

    selector = {**LOCATION, "scheduleName": "nightly_seed_stages_schedule"}
    started = graphql(stack.url, """mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) {
        __typename ... on ScheduleStateResult { scheduleState { id status } } ... on PythonError { message } } }""",
                      {"s": selector})["startSchedule"]
    assert started["__typename"] == "ScheduleStateResult" and started["scheduleState"]["status"] == "RUNNING", started
    # the cron ticks every minute here (LINKSYN_SEEDS__SCHEDULE_CRON): the daemon's scheduler
    # launches the tick's runs within a minute and a half
    tag = [{"key": "dagster/schedule_name", "value": "nightly_seed_stages_schedule"}]
    runs = _wait("the schedule's runs", 150, lambda: (lambda rs: rs if len(rs) >= len(DISCIPLINES) else None)(
        _runs(stack, tags=tag)), interval=2.0)
    stopped = graphql(stack.url, """mutation($id: String!) { stopRunningSchedule(id: $id) { __typename
        ... on ScheduleStateResult { scheduleState { status } } } }""", {"id": started["scheduleState"]["id"]})
    assert stopped["stopRunningSchedule"]["scheduleState"]["status"] == "STOPPED", stopped
    first_tick = {r["tags"]["dagster/partition"] for r in runs}
    assert first_tick == set(DISCIPLINES)
    assert all(r["jobName"] == "seed_stages_job" for r in runs)
