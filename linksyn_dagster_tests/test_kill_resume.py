"""Crash safety of the LLM stages, with real processes: a materialization launched with
Dagster's own CLI is SIGKILLed in the middle of its LLM calls and re-run; two discipline
partitions are materialized at the same time by separate processes writing one DuckDB
file and one result store.

What must hold after a kill and a re-run: no duplicate rows, no lost item (every seed has
its KPs or a row in llm_failures), and the scripted server was never asked again for an
answer the killed run had already stored (the re-run pays for exactly the missing items).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from linksyn_dagster.pipeline import prepare_instance
from linksyn_dagster.services.process import stop_process_group
from linksyn_dagster.settings import LinkSynSettings

pytestmark = pytest.mark.slow


@pytest.fixture()
def cli_settings(pipeline_settings: LinkSynSettings) -> LinkSynSettings:
    # the instance the CLI runs use (DAGSTER_HOME, set by pipeline_settings), created here once:
    # two runs started at once on a fresh one race to create its SQLite tables (alembic's
    # "UNIQUE constraint failed: alembic_version")
    prepare_instance(pipeline_settings).dispose()
    return pipeline_settings

DAGSTER = str(Path(sys.executable).with_name("dagster"))
_LAUNCHED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _stop_what_was_launched() -> Iterator[None]:
    """Every launched materialization is stopped when its test ends, also when it fails."""
    yield
    while _LAUNCHED:
        stop_process_group(_LAUNCHED.pop())


def _launch(select: str, partition: str, log: Path) -> subprocess.Popen:
    """``dagster asset materialize`` in its own session (so a kill reaches its step process)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [DAGSTER, "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", select,
             "--partition", partition, *_executor_args()],
            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    _LAUNCHED.append(proc)
    return proc


def _executor_args() -> list[str]:
    """Run the steps in the launched process itself (one process to kill, and no step
    process to start per asset) unless a test asks for the multiprocess executor."""
    if os.environ.get("LINKSYN_TEST_MULTIPROCESS") == "1":
        return []
    return ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]


def _materialize(select: str, partition: str, log: Path, timeout: float = 300) -> None:
    proc = _launch(select, partition, log)
    if proc.wait(timeout=timeout) != 0:
        pytest.fail(f"dagster asset materialize {select} [{partition}] failed:\n{log.read_text()[-3000:]}")


def _sql(settings: LinkSynSettings, query: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return conn.execute(query).fetchall()


def _stored(settings: LinkSynSettings, stage: str) -> int:
    if not settings.llm_cache_path.exists():
        return 0
    conn = sqlite3.connect(settings.llm_cache_path, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM llm_results WHERE stage = ?", (stage,)).fetchone()[0]
    except sqlite3.OperationalError:  # the run has not created the table yet
        return 0
    finally:
        conn.close()


def _kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_killed_kp_extraction_resumes_without_paying_twice(cli_settings, llm_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LINKSYN_LLM__CONCURRENCY", "2")
    settings, log = cli_settings, tmp_path / "dagster.log"
    partition = "biology"
    _materialize("seed_qa", partition, log)
    seeds = _sql(settings, f"SELECT count(*) FROM seed_qa WHERE discipline = '{partition}'")[0][0]
    assert seeds >= 8

    # slow answers, so the kill lands between calls: ~0.4 s each, 2 in flight
    llm_server.configure(latency_s=0.4)
    llm_server.reset()
    proc = _launch("seed_kps", partition, log)
    deadline = time.monotonic() + 180
    while _stored(settings, "kp_extraction") < 3:
        assert proc.poll() is None, f"the run ended before the kill:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "no LLM call answered within 180 s"
        time.sleep(0.02)
    _kill_group(proc)
    time.sleep(1.0)  # calls in flight at the kill finish on the server side, unheard
    answered_before_kill = llm_server.stats()["successes"]
    stored_before_kill = _stored(settings, "kp_extraction")
    assert 3 <= stored_before_kill < seeds, "the kill should land mid-stage"
    assert answered_before_kill - stored_before_kill <= 2  # lost: only the calls in flight

    llm_server.configure(latency_s=0.0)
    _materialize("seed_kps", partition, log)
    stats = llm_server.stats()
    # the re-run asked for exactly what was not stored, and nothing stored was asked again
    assert stats["successes"] - answered_before_kill == seeds - stored_before_kill
    repeated = [h for h, n in stats["success_by_hash"].items() if n > 1]
    assert len(repeated) <= answered_before_kill - stored_before_kill  # at most the answers the kill lost

    # nothing lost, nothing twice
    kps = _sql(settings, f"""SELECT count(DISTINCT seed_id) FROM seed_kps WHERE discipline = '{partition}'""")[0][0]
    failed = _sql(settings, f"""SELECT count(*) FROM llm_failures WHERE partition_key = '{partition}'""")[0][0]
    assert kps + failed == seeds
    assert _sql(settings, "SELECT count(*) - count(DISTINCT (seed_id, kp_rank)) FROM seed_kps")[0][0] == 0
    assert _sql(settings, "SELECT count(*) - count(DISTINCT (stage, partition_key, item_id)) FROM llm_usage")[0][0] == 0
    assert _sql(settings, f"SELECT count(*) FROM llm_usage WHERE partition_key = '{partition}'")[0][0] == kps


def test_two_partitions_materialize_at_once_in_separate_processes(cli_settings, llm_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LINKSYN_TEST_MULTIPROCESS", "1")  # each run's steps in processes of their own too
    settings = cli_settings
    partitions = ["physics", "chemistry"]
    llm_server.configure(latency_s=0.05)
    procs = {p: _launch("seed_qa,seed_kps", p, tmp_path / f"{p}.log") for p in partitions}
    for partition, proc in procs.items():
        if proc.wait(timeout=300) != 0:
            pytest.fail(f"{partition} failed:\n{(tmp_path / f'{partition}.log').read_text()[-3000:]}")
    for partition in partitions:
        seeds = _sql(settings, f"SELECT count(*) FROM seed_qa WHERE discipline = '{partition}'")[0][0]
        with_kps = _sql(settings, f"SELECT count(DISTINCT seed_id) FROM seed_kps WHERE discipline = '{partition}'")
        assert seeds > 0 and with_kps[0][0] == seeds, partition
    assert _sql(settings, "SELECT count(*) - count(DISTINCT seed_id) FROM seed_qa")[0][0] == 0
    assert _sql(settings, "SELECT count(*) - count(DISTINCT (seed_id, kp_rank)) FROM seed_kps")[0][0] == 0
    assert llm_server.stats()["max_successes_per_request"] == 1
    logs = "".join((tmp_path / f"{p}.log").read_text() for p in partitions)
    assert "Could not set lock" not in logs and "database is locked" not in logs


def test_the_same_partition_launched_twice_at_once_writes_each_row_once(cli_settings, llm_server, tmp_path):
    settings = cli_settings
    partition = "economics"
    llm_server.configure(latency_s=0.05)
    procs = [_launch("seed_qa,seed_kps", partition, tmp_path / f"run{k}.log") for k in range(2)]
    for k, proc in enumerate(procs):
        if proc.wait(timeout=300) != 0:
            pytest.fail(f"run {k} failed:\n{(tmp_path / f'run{k}.log').read_text()[-3000:]}")
    seeds = _sql(settings, f"SELECT count(*), count(DISTINCT seed_id) FROM seed_qa WHERE discipline = '{partition}'")
    assert seeds[0][0] == seeds[0][1] > 0
    kps = _sql(settings, f"SELECT count(*), count(DISTINCT (seed_id, kp_rank)) FROM seed_kps "
                         f"WHERE discipline = '{partition}'")
    assert kps[0][0] == kps[0][1] > 0
    usage = _sql(settings, f"SELECT count(*), count(DISTINCT item_id) FROM llm_usage WHERE partition_key = '{partition}'")
    assert usage[0][0] == usage[0][1] == seeds[0][0]
    # both runs may have asked for the same seed before either stored it, but never more
    assert llm_server.stats()["max_successes_per_request"] <= 2


def _graph_snapshot(driver) -> dict[str, set]:
    def rows(query: str) -> set:
        records, _, _ = driver.execute_query(query)
        return {tuple(r.values()) for r in records}
    return {
        "kps": rows("MATCH (k:KnowledgePoint) RETURN k.kp_id, k.name, k.frequency, k.primary_discipline, k.visits"),
        "seeds": rows("MATCH (s:Seed) RETURN s.seed_id"),
        "co_occurs": rows("MATCH (a:KnowledgePoint)-[e:CO_OCCURS]->(b:KnowledgePoint) RETURN a.kp_id, b.kp_id, e.weight"),
        "has_kp": rows("MATCH (s:Seed)-[:HAS_KP]->(k:KnowledgePoint) RETURN s.seed_id, k.kp_id"),
        "in_discipline": rows("MATCH (k:KnowledgePoint)-[:IN_DISCIPLINE]->(d:Discipline) RETURN k.kp_id, d.name"),
    }


def _table_snapshot(settings: LinkSynSettings) -> dict[str, list]:
    def rows(query: str) -> list:
        return sorted((tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in _sql(settings, query)),
                      key=repr)
    return {
        "seed_qa": rows("SELECT seed_id, discipline, question FROM seed_qa"),
        "seed_kps": rows("SELECT seed_id, kp_rank, kp_name FROM seed_kps"),
        "knowledge_points": rows("SELECT kp_id, name, frequency FROM knowledge_points"),
        "kp_paths": rows("SELECT path_id, kp_ids FROM kp_paths"),
        "synthesized_qa": rows("SELECT qa_id, path_id, question FROM synthesized_qa"),
        "enhanced_qa": rows("SELECT qa_id, variant, difficulty FROM enhanced_qa"),
        "linkqa_dataset": rows("SELECT qa_id FROM linkqa_dataset"),
    }


def _kps_in_graph(driver) -> int:
    records, _, _ = driver.execute_query("MATCH (k:KnowledgePoint) RETURN count(k) AS n")
    return records[0]["n"]


def test_ten_kills_across_every_llm_stage_and_the_graph_load_change_nothing(
        cli_settings, llm_server, neo4j_driver, tmp_path, monkeypatch, request):
    """Kill points: KP extraction in 4 partitions, the Neo4j load, synthesis in 2 path
    partitions, difficulty judging in 2, rewriting in 1, and judging inside the further round
    the release asks for. After each kill the same materialization is run again; at the end
    every table and the graph equal those of a run never killed (``run_pipeline``, which walks
    the same round).

    Each kill point is a ``dagster asset materialize`` process killed with SIGKILL; the runs
    that are not killed (the re-run after each kill, and the partitions and stages without a
    kill point) run on the same instance in this process, which never shares memory with a
    killed one: the re-run finds only what the killed process stored. That spares ~20 process
    start-ups (dagster, the definitions and litellm imported each time)."""
    import random

    import dagster as dg

    from linksyn_dagster.core.taxonomy import DISCIPLINES
    from linksyn_dagster.definitions import build_definitions
    from linksyn_dagster.pipeline import WALK_PLAN, pipeline_stages, run_pipeline
    from linksyn_dagster.settings import load_settings

    monkeypatch.setenv("LINKSYN_LLM__CONCURRENCY", "1")
    monkeypatch.setenv("LINKSYN_NEO4J__BATCH_SIZE", "5")  # the graph load is many small transactions
    # five seed disciplines, three paths for each: enough partitions for every kill point
    disciplines = ["biology", "chemistry", "economics", "history", "physics"]
    seeds_dir = tmp_path / "seeds"
    seeds_dir.mkdir()
    demo = Path(__file__).parents[1] / "linksyn_dagster" / "data" / "demo_seeds"
    for discipline in disciplines:
        shutil.copy(demo / f"{discipline}.jsonl", seeds_dir)
    monkeypatch.setenv("LINKSYN_SEEDS__SOURCE_DIR", str(seeds_dir))
    monkeypatch.setenv("LINKSYN_WALK__PATHS_TOTAL", "15")
    monkeypatch.setenv("LINKSYN_WALK__TARGET_DISTRIBUTION", json.dumps({d: 1.0 for d in disciplines}))
    # a generator that seldom writes the level asked for: most items are rewritten, so the
    # rewrite stage has work in every partition
    llm_server.configure(simulate={"follow_p": 0.2})
    # the stages are run one by one below, as run_pipeline orders them, with one further round
    monkeypatch.setenv("LINKSYN_RELEASE__MAX_ROUNDS", "1")
    settings = load_settings()
    # the stages in run_pipeline's order: seeds per discipline, the graph, paths per start discipline, the release
    definitions = build_definitions(settings)
    seed_stages, graph_stages, path_stages, release_stages = [list(stage.assets)
                                                              for stage in pipeline_stages(definitions)]
    job = definitions.resolve_implicit_global_asset_job_def()
    instance = prepare_instance(settings)  # DAGSTER_HOME's, which the launched processes use
    request.addfinalizer(instance.dispose)
    log = tmp_path / "dagster.log"
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
    llm_server.reset()
    rng = random.Random(20261124)
    kills: list[str] = []
    lost_in_flight = 0

    def run_with_kill(select: list[str], partition: str | None, stage: str, stage_items: int | None,
                      may_not_ask: bool = False) -> bool:
        """Launch, kill once ``stage`` has stored a random number of its items (or, for the
        graph, once the load is under way), then run the same selection to the end. With
        ``may_not_ask``, a run that ends, successfully, without asking ``stage`` anything
        (a partition none of whose items needs a rewrite) is no kill: returns False."""
        nonlocal lost_in_flight
        before = _stored(settings, stage) if stage != "graph" else 0
        target = rng.randint(1, max(1, (stage_items or 2) - 1))
        llm_server.configure(latency_s=0.25)  # slow calls while a kill is due, so it lands mid-stage
        proc = _launch(",".join(select), partition or "", log) if partition else _launch_unpartitioned(select, log)
        deadline = time.monotonic() + 240
        while True:
            progress = _kps_in_graph(neo4j_driver) if stage == "graph" else _stored(settings, stage) - before
            if progress >= (20 if stage == "graph" else target):
                break
            if proc.poll() is not None and may_not_ask and progress == 0:
                assert proc.returncode == 0, f"{select} [{partition}] failed:\n{log.read_text()[-3000:]}"
                llm_server.configure(latency_s=0.0)
                return False
            assert proc.poll() is None, f"{select} [{partition}] ended before the kill:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{select} [{partition}] made no progress"
            time.sleep(0.01)
        answered = llm_server.stats()["successes"]
        _kill_group(proc)
        time.sleep(0.6)  # a call in flight at the kill is answered to nobody
        lost_in_flight += llm_server.stats()["successes"] - answered
        kills.append(f"{stage} [{partition}]")
        llm_server.configure(latency_s=0.0)
        _run_to_end(select, partition)
        return True

    def _run_to_end(select: list[str], partition: str | None, ops: dict | None = None) -> None:
        """The materialization, in this process, to its end."""
        result = job.execute_in_process(instance=instance, partition_key=partition, raise_on_error=False,
                                        asset_selection=[dg.AssetKey(key) for key in select],
                                        run_config={"ops": ops} if ops else None)
        assert result.success, f"{select} [{partition}] failed: {result.get_step_failure_events()[:1]}"

    for k, discipline in enumerate(disciplines):
        if k < 4:
            run_with_kill(seed_stages, discipline, "kp_extraction", 10)
        else:
            _run_to_end(seed_stages, discipline)
    _run_to_end(graph_stages[:1], None)
    run_with_kill(graph_stages[1:], None, "graph", None)

    quotas = dict(_sql(settings, "SELECT start_discipline, count(*) FROM walk_plan GROUP BY 1"))
    path_disciplines = [d for d in DISCIPLINES if quotas.get(d, 0) > 0]
    # every LLM stage of the path partitions gets killed: synthesis twice, judging twice, rewriting once
    # (the rewrite kill before the judge's: it may take several partitions to find one that rewrites)
    plan = ["qa_synthesis", "qa_synthesis", "difficulty_rewrite", "difficulty_judge", "difficulty_judge"]
    for discipline in path_disciplines:
        if plan and (quotas[discipline] >= 2 or plan[0] != "qa_synthesis"):
            # a synthesis call per path (a kill among two or more); the judge's calls read
            # several paths' items, and a rewrite waits for its judging: those two are killed
            # after their first stored answer. A rewrite kill waits for a partition that
            # rewrites (not every path needs one)
            stage = plan[0]
            if run_with_kill(path_stages, discipline, stage, quotas[discipline] if stage == "qa_synthesis" else 2,
                             may_not_ask=stage == "difficulty_rewrite"):
                plan.pop(0)
        else:
            _run_to_end(path_stages, discipline)
    assert not plan, f"kill points left over: {plan}"
    _run_to_end(release_stages, None)
    # one further round, as run_pipeline drives it: the walk plan walks on for what the release
    # asks, the partitions asked for run again (a kill inside the round's judging), the release
    request = _next_round_request()
    assert request, "the release asked for no further round: nothing to kill in one"
    _run_to_end([WALK_PLAN], None, ops={WALK_PLAN: {"config": {"rounds": [request]}}})
    new_paths = dict(_sql(settings, 'SELECT start_discipline, count(*) FROM walk_plan WHERE "round" = 1 GROUP BY 1'))
    killed_in_round = False
    for discipline in [d for d in DISCIPLINES if d in request]:
        if not killed_in_round and new_paths.get(discipline, 0) >= 2:
            run_with_kill(path_stages, discipline, "difficulty_judge", 2)
            killed_in_round = True
        else:
            _run_to_end(path_stages, discipline)
    assert killed_in_round, f"no discipline got 2 new paths in round 1: {new_paths}"
    _run_to_end(release_stages, None)
    assert len(kills) >= 11, kills

    stats = llm_server.stats()
    repeated = sum(n - 1 for n in stats["success_by_hash"].values() if n > 1)
    assert repeated <= lost_in_flight  # only answers that died with a killed process were asked again
    killed_tables, killed_graph = _table_snapshot(settings), _graph_snapshot(neo4j_driver)
    for table, rows in killed_tables.items():
        assert len(rows) == len(set(rows)), f"duplicate rows in {table}"
    failures = _sql(settings, "SELECT count(*) FROM llm_failures")[0][0]
    assert failures == 0  # no faults were injected: every item is in its output

    # the same pipeline, never killed, in a fresh data directory
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(fresh))
    monkeypatch.setenv("DAGSTER_HOME", str(fresh / "dagster_home"))
    llm_server.configure(latency_s=0.0)
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
    baseline_settings = load_settings()
    run_pipeline(baseline_settings, say=lambda _: None)
    assert _table_snapshot(baseline_settings) == killed_tables
    assert _graph_snapshot(neo4j_driver) == killed_graph


def _next_round_request() -> dict:
    """What the release's latest materialization asks the next round to walk."""
    import dagster as dg

    instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the instance the launched runs write
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey("linkqa_dataset"))
        return event.asset_materialization.metadata["next_round_request"].value
    finally:
        instance.dispose()


def _launch_unpartitioned(select: list[str], log: Path) -> subprocess.Popen:
    out = log.open("ab")
    return subprocess.Popen(
        [DAGSTER, "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", ",".join(select),
         *_executor_args()],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True)
