"""The walk plan is global and the path partitions share nothing hidden: walk_plan walks
every start discipline in one pass; re-materializing it, or any kp_paths partition, gives
the same paths and the same Neo4j counters, and so does a backfill of every kp_paths
partition run at once, in shuffled order, in processes of their own (multiprocess executor)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from linksyn_dagster.core.quotas import plan_quotas
from linksyn_dagster.core.seeds import demo_seed_dir
from linksyn_dagster.definitions import build_definitions
from linksyn_dagster.pipeline import prepare_instance
from linksyn_dagster.services.process import stop_process_group
from linksyn_dagster.settings import load_settings

pytestmark = pytest.mark.slow

DAGSTER = str(Path(sys.executable).with_name("dagster"))
DISCIPLINES_USED = ["biology", "chemistry", "history", "physics"]


def _rows(settings, query: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return conn.execute(query).fetchall()


def _plan(settings, table: str = "walk_plan") -> list[tuple]:
    return _rows(settings, f"SELECT path_id, start_discipline, path_index, kp_ids, seed_ids FROM {table} "
                           "ORDER BY path_id")


def _visits(driver) -> dict[str, int]:
    records = driver.execute_query("MATCH (k:KnowledgePoint) WHERE k.visits > 0 RETURN k.kp_id AS kp, "
                                   "k.visits AS v").records
    return {r["kp"]: r["v"] for r in records}


def test_the_walk_plan_is_global_and_every_partition_reads_the_same_slice(pipeline_settings, llm_server,
                                                                           neo4j_driver, tmp_path, monkeypatch):
    # four disciplines of the demo seeds (the launched processes read the same environment)
    seeds_dir = tmp_path / "seeds"
    seeds_dir.mkdir()
    for discipline in DISCIPLINES_USED:
        (seeds_dir / f"{discipline}.jsonl").symlink_to(demo_seed_dir() / f"{discipline}.jsonl")
    monkeypatch.setenv("LINKSYN_SEEDS__SOURCE_DIR", str(seeds_dir))
    monkeypatch.setenv("LINKSYN_WALK__PATHS_TOTAL", "12")
    settings = load_settings()
    instance = prepare_instance(settings)
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()

    def materialize(keys: list[str], partition: str | None = None) -> None:
        result = job.execute_in_process(instance=instance, partition_key=partition,
                                        asset_selection=[dg.AssetKey(k) for k in keys])
        assert result.success, (keys, partition)

    for discipline in DISCIPLINES_USED:
        materialize(["seed_qa", "seed_kps"], discipline)
    materialize(["knowledge_points", "kp_graph", "walk_plan"])
    plan, visits = _plan(settings), _visits(neo4j_driver)
    starts = sorted({row[1] for row in plan})
    assert len(starts) >= 3 and len(plan) == 12
    # one coverage state: Neo4j's counters are the plan's own visits, all disciplines at once
    assert sum(visits.values()) == _rows(settings, "SELECT sum(length) FROM walk_plan")[0][0]

    materialize(["walk_plan"])  # again, on the same graph: the same plan and counters
    assert _plan(settings) == plan and _visits(neo4j_driver) == visits

    # every kp_paths partition at once, in shuffled order, each a `dagster asset materialize`
    # process with the multiprocess executor (a process per step)
    order = starts[:]
    random.Random(7).shuffle(order)
    log = tmp_path / "backfill.log"
    procs: list[subprocess.Popen] = []
    try:
        with log.open("ab") as out:
            for discipline in order:
                procs.append(subprocess.Popen(
                    [DAGSTER, "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", "kp_paths",
                     "--partition", discipline],
                    env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True))
        codes = [proc.wait(timeout=300) for proc in procs]
    finally:
        for proc in procs:  # any still running, and whatever a finished one's group left behind
            stop_process_group(proc, timeout=10)
    assert codes == [0] * len(order), log.read_text()[-3000:]
    assert _plan(settings, "kp_paths") == plan
    assert _visits(neo4j_driver) == visits  # partitions read the plan; they never write the counters

    # one partition again: the same slice, nothing else changes
    materialize(["kp_paths"], order[0])
    assert _plan(settings, "kp_paths") == plan and _visits(neo4j_driver) == visits

    # a run's own path budget and round limit (launchpad run config): the plan, its quotas and
    # the counters follow, and the plan records the limit for the sensor and the release
    result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("walk_plan")],
                                    run_config={"ops": {"walk_plan": {"config": {"paths_total": 5, "max_rounds": 1}}}})
    assert result.success
    small = _plan(settings)
    params = json.loads(_rows(settings, "SELECT walk_params FROM walk_plan LIMIT 1")[0][0])
    quotas = plan_quotas(params)
    assert len(small) == sum(quotas.values()) == 5
    assert params["max_rounds"] == 1 != settings.release.max_rounds
    assert sum(_visits(neo4j_driver).values()) == _rows(settings, "SELECT sum(length) FROM walk_plan")[0][0]

    # further rounds (what `linksyn run` asks for the release's short cells): the first
    # round's paths, seeds and levels stay as they were; each round's paths are walked on from
    # the coverage before it, with the levels its request asks for, and counted in Neo4j
    def with_rounds(rounds: list) -> dg.ExecuteInProcessResult:
        outcome = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("walk_plan")],
                                         run_config={"ops": {"walk_plan": {"config": {"rounds": rounds}}}})
        assert outcome.success
        return outcome

    def levels() -> list[tuple]:
        return _rows(settings, "SELECT path_id, round, start_discipline, path_index, target_difficulty "
                               "FROM walk_plan ORDER BY path_id")

    with_rounds([])
    assert _plan(settings) == plan and _visits(neo4j_driver) == visits
    first = levels()
    request = {starts[0]: {"5": 2, "1": 1}, starts[1]: {"4": 1}}
    outcome = with_rounds([request])
    after = levels()
    assert [row for row in after if row[1] == 0] == first
    now = _plan(settings)
    assert all(row in now for row in plan)  # the same paths with the same seeds
    added = [row for row in after if row[1] == 1]
    assert sorted((row[2], row[4]) for row in added) == sorted(
        [(starts[0], 5), (starts[0], 5), (starts[0], 1), (starts[1], 4)])
    assert {row[3] for row in added if row[2] == starts[0]} == {
        sum(1 for row in first if row[2] == starts[0]) + n for n in range(3)}  # numbering goes on
    assert sum(_visits(neo4j_driver).values()) == _rows(settings, "SELECT sum(length) FROM walk_plan")[0][0]
    (materialization,) = outcome.asset_materializations_for_node("walk_plan")  # a further round: the estimate kept
    assert materialization.metadata["paths_per_round"].value == {"0": len(first), "1": 4}
    assert materialization.metadata["walk_params"].value["max_rounds"] == settings.release.max_rounds  # unset
    # a second round keeps the first's paths too
    with_rounds([request, {starts[2]: {"3": 1}}])
    assert [row for row in levels() if row[1] <= 1] == after

    # the graph grows: 5% more seeds (2 of a discipline new to it). The plan extends the last
    # one: its paths whose KPs all still exist stay, with their ids, seeds and levels, new
    # walks start from their coverage, and the LLM is asked only for the new paths' items
    def plan_rows() -> dict[str, tuple]:
        return {row[0]: row for row in _rows(settings, "SELECT path_id, start_discipline, path_index, kp_ids, "
                                                       "seed_ids, target_difficulty FROM walk_plan")}

    final = plan_rows()
    old_version = _rows(settings, "SELECT DISTINCT graph_version FROM walk_plan")
    materialize(["kp_paths", "synthesized_qa"], starts[0])
    extra = [line for line in (demo_seed_dir() / "economics.jsonl").read_text().splitlines() if line.strip()][:2]
    (seeds_dir / "economics.jsonl").write_text("\n".join(extra) + "\n")
    assert len(extra) / sum(len((seeds_dir / f"{d}.jsonl").read_text().splitlines()) for d in DISCIPLINES_USED) \
        == pytest.approx(0.05)
    materialize(["seed_qa", "seed_kps"], "economics")
    materialize(["knowledge_points", "kp_graph"])
    grow = {"ops": {"walk_plan": {"config": {"paths_total": len(final) + 4}}}}
    outcome = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("walk_plan")], run_config=grow)
    assert outcome.success
    extended = plan_rows()
    new_version = _rows(settings, "SELECT DISTINCT graph_version FROM walk_plan WHERE path_id NOT IN "
                                  f"({', '.join(repr(p) for p in final)})")
    assert new_version and new_version != old_version  # the graph did change
    kept = [row for path_id, row in final.items() if path_id in extended]
    assert len(kept) >= 0.9 * len(final), (len(kept), len(final))
    assert all(extended[row[0]] == row for row in kept)  # the same KPs, seeds and level
    added = [row for path_id, row in extended.items() if path_id not in final]
    assert added and len({(row[1], row[2]) for row in extended.values()}) == len(extended)  # numbering goes on
    # a plan's first round also records the run's estimate (a further round, above, keeps it)
    written = {m.asset_key.to_user_string(): m for m in outcome.asset_materializations_for_node("walk_plan")}
    assert set(written) == {"walk_plan", "run_estimate"}
    assert written["walk_plan"].metadata["estimated_llm_calls"].value == \
        _rows(settings, "SELECT sum(calls) FROM run_estimate")[0][0]
    materialization = written["walk_plan"]
    assert materialization.metadata["kept_paths"].value == len(kept)
    assert sum(_visits(neo4j_driver).values()) == _rows(settings, "SELECT sum(length) FROM walk_plan")[0][0]
    # deterministic: the same graph and settings give the same extended plan
    assert job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("walk_plan")],
                                  run_config=grow).success
    assert plan_rows() == extended
    answered = llm_server.stats()["successes"]
    materialize(["kp_paths", "synthesized_qa"], starts[0])
    assert llm_server.stats()["successes"] - answered == sum(1 for row in added if row[1] == starts[0])
