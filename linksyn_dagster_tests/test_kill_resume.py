"""Crash safety of the LLM stages, with real processes: a materialization launched with
Dagster's own CLI is SIGKILLed in the middle of its LLM calls and re-run; two discipline
partitions are materialized at the same time by separate processes writing one DuckDB
file and one result store.

What must hold after a kill and a re-run: no duplicate rows, no lost item (every seed has
its KPs or a row in llm_failures), and the scripted server was never asked again for an
answer the killed run had already stored (the re-run pays for exactly the missing items).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from linksyn_dagster.pipeline import prepare_instance
from linksyn_dagster.settings import LinkSynSettings

pytestmark = pytest.mark.slow


@pytest.fixture()
def cli_settings(pipeline_settings: LinkSynSettings) -> LinkSynSettings:
    prepare_instance(pipeline_settings)  # the DAGSTER_HOME the CLI runs read
    return pipeline_settings

DAGSTER = str(Path(sys.executable).with_name("dagster"))


def _launch(select: str, partition: str, log: Path) -> subprocess.Popen:
    """``dagster asset materialize`` in its own session (so a kill reaches its step process)."""
    out = log.open("ab")
    return subprocess.Popen(
        [DAGSTER, "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", select,
         "--partition", partition],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True)


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


def test_two_partitions_materialize_at_once_in_separate_processes(cli_settings, llm_server, tmp_path):
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
