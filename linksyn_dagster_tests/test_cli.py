"""The `linksyn` command as a user runs it: a real process, real services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Literal

import litellm
import pytest
from neo4j import GraphDatabase
from pydantic import BaseModel, Field

from linksyn_dagster.services.process import free_port, stop_process_group
from linksyn_dagster_tests.conftest import PROJECT_ROOT


def linksyn(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    return subprocess.run([sys.executable, "-m", "linksyn_dagster.cli", *args], cwd=PROJECT_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def user_env(tmp_path) -> dict[str, str]:
    """A user's environment with its own data dir and ports, nothing else configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKSYN_")}
    env.update({"LINKSYN_DATA_DIR": str(tmp_path / "data"), "LINKSYN_NEO4J__BOLT_PORT": str(free_port()),
                "LINKSYN_NEO4J__HTTP_PORT": str(free_port()), "LINKSYN_LLM__LOCAL_PORT": str(free_port()),
                "LINKSYN_NEO4J__HEAP": "512m", "LINKSYN_NEO4J__PAGECACHE": "128m"})
    return env


@pytest.mark.parametrize("args", [[], ["demo"], ["run"], ["neo4j"], ["llm"], ["ui"], ["status"], ["estimate"],
                                  ["settings"], ["stack"]])
def test_help_everywhere(args):
    result = linksyn(*args, "--help")
    assert result.returncode == 0 and "usage: linksyn" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = linksyn("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_invalid_setting_names_the_variable(user_env):
    result = linksyn("settings", env={**user_env, "LINKSYN_WALK__ALPHA": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "LINKSYN_WALK__ALPHA" in result.stderr


@pytest.mark.parametrize("case", ["seed_dir", "benchmark", "model_id", "api_key", "neo4j_uri", "result_store_url",
                                  "warehouse_catalog_url"])
def test_first_mistakes_get_one_line_naming_the_setting_and_exit_2(user_env, tmp_path, monkeypatch, case):
    """The mistakes users make first are caught before anything starts: one line on stderr
    that names the setting and says what to do, exit code 2, and no run and no service."""
    nowhere = str(tmp_path / "no_such_dir")
    env, setting, fix = {
        "seed_dir": ({"LINKSYN_SEEDS__SOURCE_DIR": nowhere}, "LINKSYN_SEEDS__SOURCE_DIR", "does not exist"),
        "benchmark": ({"LINKSYN_DECONTAM__BENCHMARK_PATHS": json.dumps([nowhere])},
                      "LINKSYN_DECONTAM__BENCHMARK_PATHS", "does not exist"),
        "model_id": ({"LINKSYN_LLM__MODEL": "frobnicate-9000"}, "LINKSYN_LLM__MODEL", "provider/model"),
        "api_key": ({"LINKSYN_LLM__MODEL": "anthropic/claude-3-5-haiku-latest"},
                    "LINKSYN_LLM__MODEL", "LINKSYN_LLM__API_KEY"),
        "neo4j_uri": ({"LINKSYN_NEO4J__URI": f"bolt://127.0.0.1:{free_port()}"}, "LINKSYN_NEO4J__URI",
                      "does not answer"),
        "result_store_url": ({"LINKSYN_LLM__RESULT_STORE_URL": f"postgresql://u:pw-planted@127.0.0.1:{free_port()}/db"},
                             "LINKSYN_LLM__RESULT_STORE_URL", "does not answer"),
        "warehouse_catalog_url": ({"LINKSYN_WAREHOUSE__CATALOG_URL": f"postgresql://u:pw-planted@127.0.0.1:{free_port()}/w"},
                                  "LINKSYN_WAREHOUSE__CATALOG_URL", "does not answer"),
    }[case]
    for variable in [v for v in os.environ if v.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(variable)  # the api_key case: no key anywhere
    result = linksyn("run", env={**{k: v for k, v in user_env.items() if not k.startswith("ANTHROPIC_")}, **env},
                     timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"linksyn: {setting}") and fix in lines[0], lines
    assert "pw-planted" not in result.stderr
    data = tmp_path / "data"
    assert not (data / "linksyn.duckdb").exists() and not (data / "dagster_home").exists()  # nothing ran
    assert not list(data.glob("neo4j*")) and not list(data.glob("llm*"))  # nothing started


def test_settings_never_print_secrets(user_env):
    result = linksyn("settings", env={**user_env, "LINKSYN_LLM__API_KEY": "sk-planted-secret-123",
                                      "LINKSYN_NEO4J__PASSWORD": "planted-neo4j-pw",
                                      "LINKSYN_LLM__RESULT_STORE_URL": "postgresql://u:planted-pg-pw@db:5432/llm",
                                      "LINKSYN_WAREHOUSE__CATALOG_URL": "postgresql://u:planted-pg-pw@db:5432/wh",
                                      "LINKSYN_LLM__API_BASE": "https://team:planted-token@llm.example/v1"})
    assert result.returncode == 0
    assert not [s for s in ("sk-planted-secret-123", "planted-neo4j-pw", "planted-pg-pw", "planted-token")
                if s in result.stdout]
    settings = json.loads(result.stdout)
    assert settings["llm"]["api_key"] == settings["llm"]["result_store_url"] == "**********"
    assert settings["warehouse"]["catalog_url"] == "**********"
    assert settings["llm"]["api_base"] == "https://team:**********@llm.example/v1"
    assert settings["walk"]["paths_total"] > 0 and "data_dir" in settings  # every section, not just the secrets


def test_neo4j_without_java_is_one_clear_line(user_env, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = linksyn("neo4j", "start", env={**user_env, "PATH": str(empty)})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Java" in lines[0], result.stderr


def test_neo4j_start_status_stop_and_data_survives(user_env):
    started = linksyn("neo4j", "start", env=user_env)
    assert started.returncode == 0, started.stderr
    try:
        status = linksyn("neo4j", "status", env=user_env)
        assert status.returncode == 0
        info = json.loads(status.stdout)
        assert info["running"] and info["uri"].startswith("bolt://127.0.0.1:")
        # the Neo4j Browser guide, served beside the server
        with urllib.request.urlopen(info["guide_url"], timeout=30) as page:
            assert info["guide_url"].startswith("http://127.0.0.1:") and b"<slide" in page.read()
        password = (PROJECT_ROOT / user_env["LINKSYN_DATA_DIR"] / "neo4j" / "password").read_text().strip()
        assert password not in started.stdout + status.stdout
        with GraphDatabase.driver(info["uri"], auth=("neo4j", password)) as driver:
            driver.execute_query("CREATE (:Probe {name: $name})", name="kept")
        assert linksyn("neo4j", "stop", env=user_env).returncode == 0
        stopped = linksyn("neo4j", "status", env=user_env)
        assert stopped.returncode == 1 and json.loads(stopped.stdout)["running"] is False
        assert json.loads(stopped.stdout)["guide_url"] is None

        assert linksyn("neo4j", "start", env=user_env).returncode == 0
        with GraphDatabase.driver(info["uri"], auth=("neo4j", password)) as driver:
            records, _, _ = driver.execute_query("MATCH (p:Probe) RETURN p.name AS name")
        assert [r["name"] for r in records] == ["kept"]
    finally:
        linksyn("neo4j", "stop", env=user_env)


class Verdict(BaseModel):
    # what llama.cpp's grammar enforces exactly: enums and bounded arrays (it does not
    # enforce integer ranges; the pipeline's client validates and repairs those)
    answer: Literal["A", "B", "C", "D"]
    topics: list[Literal["arithmetic", "algebra", "geometry"]] = Field(min_length=1, max_length=2)


def test_llm_start_serves_schema_valid_json_through_litellm(user_env):
    started = linksyn("llm", "start", env=user_env)
    assert started.returncode == 0, started.stderr
    try:
        info = json.loads(linksyn("llm", "status", env=user_env).stdout)
        assert info["running"] and info["api_base"].startswith("http://127.0.0.1:")
        reply = litellm.completion(
            model=info["litellm_model"], api_base=info["api_base"], api_key="none", max_tokens=80, timeout=120,
            temperature=0,
            messages=[{"role": "user", "content": "What is 2 + 2? A. 3 B. 4 C. 5 D. 22. Answer in JSON."}],
            response_format={"type": "json_object", "schema": Verdict.model_json_schema()})
        Verdict.model_validate_json(reply.choices[0].message.content)
    finally:
        assert linksyn("llm", "stop", env=user_env).returncode == 0
    assert linksyn("llm", "status", env=user_env).returncode == 1


def test_services_refuse_to_manage_what_is_configured_elsewhere(user_env):
    result = linksyn("neo4j", "start", env={**user_env, "LINKSYN_NEO4J__URI": "bolt://db.example:7687"})
    assert result.returncode == 2 and "LINKSYN_NEO4J__URI is set" in result.stderr


def test_ui_serves_the_asset_graph(user_env):
    """`linksyn ui` starts the Dagster UI on loopback with every LinkSyn asset in it."""
    import time

    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "linksyn_dagster.cli", "ui", "--port", str(port)],
                            cwd=PROJECT_ROOT, env={**user_env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        query = {"query": "{ assetNodes { assetKey { path } groupName isPartitioned } }"}
        deadline, nodes = time.monotonic() + 180, None
        while time.monotonic() < deadline and nodes is None:
            assert proc.poll() is None, "dagster dev exited"
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=10)
                if reply.status_code == 200 and reply.json().get("data", {}).get("assetNodes"):
                    nodes = reply.json()["data"]["assetNodes"]
            except httpx.HTTPError:
                pass
            time.sleep(2)
        assert nodes is not None, "the UI did not answer within 180 s"
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        stages = {"seed_qa", "seed_kps", "knowledge_points", "kp_graph", "walk_plan", "kp_paths", "synthesized_qa",
                  "enhanced_qa", "verified_qa", "linkqa_dataset", "distribution_report"}
        assert stages <= set(by_key)
        # the rest are the side tables (a shared one once per writer: test_definitions.py)
        assert {key.split("/")[0] for key in set(by_key) - stages} == {
            "seed_rejects", "seed_kp_links", "kp_cooccurrence", "dataset_drops", "llm_usage", "llm_failures",
            "decontamination_hits", "run_estimate", "kp_names", "kp_counts", "kp_changes"}
        assert by_key["seed_qa"]["isPartitioned"] and not by_key["kp_graph"]["isPartitioned"]
        assert by_key["kp_graph"]["groupName"] == "graph"
    finally:
        stop_process_group(proc)


@pytest.mark.slow
def test_run_stops_with_one_line_naming_the_stage_that_yielded_nothing_and_exit_1(user_env, llm_server, tmp_path):
    import shutil

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(PROJECT_ROOT / "linksyn_dagster" / "data" / "demo_seeds" / "law.jsonl", seeds)
    llm_server.configure(fault_rate=1.0, faults=["500"], max_faults_per_request=None)  # every call: a 500
    env = {**user_env, "LINKSYN_SEEDS__SOURCE_DIR": str(seeds), "LINKSYN_LLM__MODEL": llm_server.litellm_model,
           "LINKSYN_LLM__API_BASE": llm_server.api_base, "LINKSYN_LLM__API_KEY": "scripted-test-key",
           "LINKSYN_LLM__MAX_RETRIES": "0"}
    result = linksyn("run", env=env)
    assert result.returncode == 1, result.stderr[-3000:]
    log = Path(user_env["LINKSYN_DATA_DIR"]) / "logs" / "dagster.log"
    assert result.stderr.splitlines()[-1] == (
        "linksyn: pipeline failed: seed_qa, seed_kps [law]: blocking check seed_kps:llm_yield failed: "
        "kp_extraction: 10 of 10 request(s) failed (100%, more than the 20% allowed); failure classes: "
        f"InternalServerError ×10; the log: {log}")


@pytest.mark.slow
def test_run_ends_saying_which_local_services_are_still_up_and_how_to_stop_them(user_env, llm_server, tmp_path):
    import shutil

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for discipline in ("physics", "chemistry"):
        shutil.copy(PROJECT_ROOT / "linksyn_dagster" / "data" / "demo_seeds" / f"{discipline}.jsonl", seeds)
    env = {**user_env, "LINKSYN_SEEDS__SOURCE_DIR": str(seeds), "LINKSYN_WALK__PATHS_TOTAL": "4",
           "LINKSYN_LLM__MODEL": llm_server.litellm_model, "LINKSYN_LLM__API_BASE": llm_server.api_base,
           "LINKSYN_LLM__API_KEY": "scripted-test-key",
           # an open release (as the demo's): every path's closest version goes on to verification
           "LINKSYN_RELEASE__FILL_CELLS": "false"}
    try:
        # before any call: the calls, tokens and cost per stage (one KP extraction per seed: 2 files of 10)
        estimate = linksyn("estimate", env=env)
        assert estimate.returncode == 0, estimate.stderr[-3000:]
        estimated = {line.split("│")[1].strip(): line.split("│")[2].strip()
                     for line in estimate.stdout.splitlines() if line.count("│") > 2}
        assert estimated["kp_extraction"] == "20" and estimated["qa_synthesis"] == "4", estimate.stdout
        assert not (Path(user_env["LINKSYN_DATA_DIR"]) / "linksyn.duckdb").exists()  # nothing run, nothing made
        result = linksyn("run", env=env, timeout=600)
        (PROJECT_ROOT / "test-artifacts").mkdir(exist_ok=True)
        (PROJECT_ROOT / "test-artifacts" / "linksyn-run.out").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr[-3000:]
        # Dagster's log lines go to the file the run names, not to the terminal; the terminal
        # (here a pipe: one line per finished Dagster run) shows each run with its LLM calls
        log = Path(user_env["LINKSYN_DATA_DIR"]) / "logs" / "dagster.log"
        assert f"Dagster's log lines: {log}" in result.stdout
        assert " - INFO - " not in result.stdout + result.stderr, result.stdout[-3000:]
        logged = log.read_text(encoding="utf-8")
        assert logged.count("qa_synthesis: 1/1 done") == 4, logged[-2000:]  # each path discipline's one path
        finished = [line for line in result.stdout.splitlines() if line.startswith("✓ ")]
        assert any(line.startswith("✓ seed_qa, seed_kps [physics]") and "kp_extraction 10/10" in line
                   for line in finished), result.stdout
        synthesized = [line for line in finished if "synthesized_qa" in line]
        assert len(synthesized) == 4 and all("qa_synthesis 1/1" in line for line in synthesized), finished
        # the summary: items per discipline against their targets, the LLM calls of each stage
        tables = result.stdout.split("done in", 1)[1]
        assert "items per discipline and level" in tables and "difficulty mix" in tables, tables
        rows = {line.split("│")[1].strip(): line for line in tables.splitlines() if line.count("│") > 2}
        walked = result.stdout.split("paths per start discipline: ", 1)[1].splitlines()[0]
        given = {part.split("=")[0] for part in walked.split(", ")}  # the disciplines whose cells have targets
        assert len(given) == 4 and given | {"qa_synthesis", "difficulty_judge"} <= set(rows), tables
        assert rows["qa_synthesis"].split("│")[2].strip() == "4", rows["qa_synthesis"]  # 4 paths, one call each
        summary = [line.strip() for line in result.stdout.splitlines() if "verification:" in line]
        assert len(summary) == 1 and summary[0].split(" of ")[1].startswith("4 chosen item(s)"), result.stdout
        # 4 items cannot fill 2 disciplines x 5 levels: the cells most short are named, with why
        short = [line.strip() for line in result.stdout.splitlines() if " short: " in line]
        assert short and all("cells are not held (LINKSYN_RELEASE__FILL_CELLS=false)" in line for line in short), \
            result.stdout
        tail = result.stdout.split("still running", 1)[1]
        neo4j_lines = [line for line in tail.splitlines() if line.strip().startswith("Neo4j")]
        assert len(neo4j_lines) == 1, result.stdout
        assert f"bolt://127.0.0.1:{user_env['LINKSYN_NEO4J__BOLT_PORT']}" in neo4j_lines[0]
        assert "stop: linksyn neo4j stop" in neo4j_lines[0]
        assert "stop: linksyn llm stop" not in tail  # the model is configured elsewhere: nothing local to stop
        # what is materialized, per asset and partition: the seed stages ran for the 2 seed
        # disciplines, the path stages for the 4 given paths, the release once
        overview = linksyn("status", env=env)
        assert overview.returncode == 0, overview.stderr[-3000:]
        assets = {line.split("│")[1].strip(): line for line in overview.stdout.splitlines() if line.count("│") > 2}
        assert "2/22 partitions" in assets["seed_kps"] and "4/22 partitions" in assets["verified_qa"], overview.stdout
        assert " yes " in assets["linkqa_dataset"] and "ago" in assets["linkqa_dataset"], overview.stdout
        assert f"data dir: {user_env['LINKSYN_DATA_DIR']} (" in overview.stdout
        assert "local services running:\n  Neo4j" in overview.stdout, overview.stdout
        status = json.loads(linksyn("neo4j", "status", env=env).stdout)
        assert status["running"] and str(status["pid"]) in neo4j_lines[0]
    finally:
        assert linksyn("neo4j", "stop", env=env).returncode == 0
    assert linksyn("neo4j", "status", env=env).returncode == 1


def test_status_on_a_new_data_dir_lists_every_asset_as_never_materialized_and_creates_nothing(user_env):
    result = linksyn("status", env=user_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assets = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 2}
    assert {"seed_qa", "kp_graph", "walk_plan", "linkqa_dataset", "distribution_report"} <= set(assets), result.stdout
    assert "0/22 partitions" in assets["seed_qa"] and " no " in assets["walk_plan"], result.stdout
    assert all("never" in line for name, line in assets.items() if name != "asset"), result.stdout
    assert "local services running: none" in result.stdout
    assert not (Path(user_env["LINKSYN_DATA_DIR"]) / "dagster_home").exists()


def test_stack_status_and_down_on_a_new_data_dir_say_down_and_create_nothing(user_env):
    """(The stack itself runs in test_stack.py.)"""
    status = linksyn("stack", "status", env=user_env)
    assert status.returncode == 1, status.stderr
    assert [line.split()[:2] for line in status.stdout.splitlines()] == [
        ["postgres", "down"], ["daemon", "down"], ["webserver", "down"]], status.stdout
    down = linksyn("stack", "down", env=user_env)
    assert down.returncode == 0, down.stderr
    assert not (Path(user_env["LINKSYN_DATA_DIR"]) / "stack").exists()


def test_the_demo_walks_fewer_paths_and_no_rounds_unless_told_and_always_the_bundled_seeds(monkeypatch, tmp_path):
    from linksyn_dagster.cli import DEMO_PATHS_TOTAL, demo_settings
    from linksyn_dagster.settings import LinkSynSettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINKSYN_WALK__PATHS_TOTAL", raising=False)
    monkeypatch.setenv("LINKSYN_SEEDS__SOURCE_DIR", str(tmp_path))
    monkeypatch.setenv("LINKSYN_WALK__ALPHA", "0.25")
    settings = demo_settings(LinkSynSettings())
    assert settings.walk.paths_total == DEMO_PATHS_TOTAL < LinkSynSettings().walk.paths_total
    assert settings.walk.alpha == 0.25 and settings.seeds.source_dir is None
    assert not settings.release.fill_cells and settings.release.max_rounds == 0
    assert settings.synthesis.judge_samples == settings.synthesis.verifier_samples == settings.synthesis.candidates == 1
    assert LinkSynSettings().synthesis.judge_samples == LinkSynSettings().synthesis.verifier_samples == 3
    assert LinkSynSettings().synthesis.candidates > 1
    assert LinkSynSettings().release.fill_cells and LinkSynSettings().release.max_rounds > 0
    assert not settings.llm.low_yield_blocks and LinkSynSettings().llm.low_yield_blocks  # the demo warns
    monkeypatch.setenv("LINKSYN_WALK__PATHS_TOTAL", "30")
    monkeypatch.setenv("LINKSYN_RELEASE__MAX_ROUNDS", "1")
    monkeypatch.setenv("LINKSYN_LLM__LOW_YIELD_BLOCKS", "true")
    assert demo_settings(LinkSynSettings()).walk.paths_total == 30
    assert demo_settings(LinkSynSettings()).release.max_rounds == 1
    assert demo_settings(LinkSynSettings()).llm.low_yield_blocks
