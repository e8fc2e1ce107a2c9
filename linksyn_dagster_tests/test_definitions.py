"""The code location loads, has the shape DESIGN.md describes, and validates with Dagster's
own tools; docker-compose.yml validates too."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys

import dagster as dg
import pytest


from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.definitions import defs as load_defs
from linksyn_dagster.pipeline import pipeline_stages
from linksyn_dagster_tests.conftest import PROJECT_ROOT

PARTITIONED = {"seed_qa", "seed_kps", "kp_paths", "synthesized_qa", "enhanced_qa", "verified_qa"}
GLOBAL = {"knowledge_points", "kp_graph", "walk_plan", "linkqa_dataset", "distribution_report"}
LLM_WRITERS = ("seed_kps", "synthesized_qa", "enhanced_qa", "verified_qa")
# the side tables of sql/duckdb/schema.sql: a table one asset writes is one asset; a table
# several write is one asset per writer, <table>/<writer>
SIDE_TABLES = {
    "seed_rejects": "seed_qa", "seed_kp_links": "knowledge_points", "kp_cooccurrence": "knowledge_points",
    "kp_names": "knowledge_points", "kp_changes": "knowledge_points", "kp_counts": "knowledge_points",
    "dataset_drops": "linkqa_dataset", "decontamination_hits/seed_qa": "seed_qa",
    "decontamination_hits/linkqa_dataset": "linkqa_dataset", "run_estimate": "walk_plan",
    **{f"{table}/{writer}": writer for table in ("llm_usage", "llm_failures") for writer in LLM_WRITERS},
}
LINEAGE = {
    ("seed_qa", "seed_kps"), ("seed_kps", "knowledge_points"), ("knowledge_points", "kp_graph"),
    ("kp_graph", "walk_plan"), ("knowledge_points", "walk_plan"), ("walk_plan", "kp_paths"),
    ("kp_paths", "synthesized_qa"), ("synthesized_qa", "enhanced_qa"), ("enhanced_qa", "verified_qa"),
    ("verified_qa", "linkqa_dataset"), ("linkqa_dataset", "distribution_report"), ("seed_qa", "distribution_report"),
    # the side tables, from what they are computed from to the assets that read them
    ("seed_kps", "seed_kp_links"), ("seed_kp_links", "kp_cooccurrence"), ("seed_kps", "kp_names"), ("seed_kps", "kp_counts"), ("kp_changes", "kp_graph"), ("seed_kp_links", "kp_graph"),
    ("kp_cooccurrence", "kp_graph"), ("seed_kp_links", "walk_plan"), ("verified_qa", "dataset_drops"),
    ("dataset_drops", "distribution_report"), ("verified_qa", "decontamination_hits/linkqa_dataset"),
    ("decontamination_hits/seed_qa", "linkqa_dataset"), ("seed_qa", "run_estimate"),
    ("run_estimate", "distribution_report"),
    ("seed_qa", "llm_usage/seed_kps"), ("kp_paths", "llm_failures/synthesized_qa"),
    ("synthesized_qa", "llm_usage/enhanced_qa"), ("enhanced_qa", "llm_failures/verified_qa"),
    *((f"llm_usage/{writer}", reader) for writer in LLM_WRITERS
      for reader in ("linkqa_dataset", "distribution_report")),
    *((f"llm_failures/{writer}", "distribution_report") for writer in LLM_WRITERS),
}
# assets without a column schema on their definition, and why: the IO-managed tables get
# theirs from each materialization's frame (checked against defs/columns.py below)
NO_DEFINED_COLUMNS = {
    **dict.fromkeys(PARTITIONED | GLOBAL - {"kp_graph", "distribution_report"}, "a table of the IO manager"),
    "kp_graph": "a Neo4j graph, not a table: its nodes and edges are knowledge_points, seed_qa, seed_kp_links and "
                "kp_cooccurrence, whose column schemas describe their properties",
}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return load_defs()


def test_every_stage_is_an_asset_with_lineage(definitions):
    specs = {s.key.to_user_string(): s for s in definitions.resolve_all_asset_specs()}
    assert set(specs) == PARTITIONED | GLOBAL | set(SIDE_TABLES)
    edges = {(dep.asset_key.to_user_string(), key) for key, spec in specs.items() for dep in spec.deps}
    assert LINEAGE <= edges
    for key, spec in specs.items():
        assert spec.description and len(spec.description) > 40, key
        assert spec.group_name != "default", key


def test_partitions_come_from_the_taxonomy(definitions):
    specs = {s.key.to_user_string(): s for s in definitions.resolve_all_asset_specs()}
    for key in PARTITIONED:
        assert list(specs[key].partitions_def.get_partition_keys()) == list(DISCIPLINES), key
    for key in GLOBAL:
        assert specs[key].partitions_def is None, key
        assert specs[key].automation_condition is not None, key


def test_the_seed_schedule_and_the_automation_sensor_run_on_the_clock_the_settings_name(tmp_path):
    """seeds.schedule_cron replaces the nightly cron (the stack's tests tick it every minute),
    automation_interval_s the sensor's interval (the UI test's: 5 s); the rest of the
    schedule, the sensor and the definitions stay as they are."""
    from linksyn_dagster.definitions import build_definitions
    from linksyn_dagster.settings import LinkSynSettings

    default = build_definitions(LinkSynSettings(data_dir=tmp_path))
    assert default.resolve_schedule_def("nightly_seed_stages_schedule").cron_schedule == "0 2 * * *"
    assert default.resolve_sensor_def("linksyn_automation").minimum_interval_seconds == 30
    settings = LinkSynSettings(data_dir=tmp_path, seeds={"schedule_cron": "*/5 * * * *"}, automation_interval_s=5)
    changed = build_definitions(settings)
    schedule = changed.resolve_schedule_def("nightly_seed_stages_schedule")
    assert schedule.cron_schedule == "*/5 * * * *" and schedule.job_name == "seed_stages_job"
    assert schedule.execution_timezone == "UTC" and schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    sensor = changed.resolve_sensor_def("linksyn_automation")
    assert sensor.minimum_interval_seconds == 5 and sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert {s.name for s in changed.sensors} == {s.name for s in default.sensors}
    assert set(changed.resolve_all_asset_keys()) == set(default.resolve_all_asset_keys())
    with pytest.raises(ValueError, match="automation_interval_s"):
        LinkSynSettings(data_dir=tmp_path, automation_interval_s=1)


def test_every_stage_has_asset_checks(definitions):
    checked = {key.asset_key.to_user_string() for key in definitions.resolve_asset_graph().asset_check_keys}
    assert checked == PARTITIONED | GLOBAL


def test_one_clock_for_the_seed_stages_and_automation_for_the_rest(definitions):
    """The nightly schedule runs the seed stages per partition; every other asset has an
    automation condition (what it runs after: test_automation.py), evaluated by one sensor."""
    assert {s.name for s in definitions.schedules} == {"nightly_seed_stages_schedule"}
    assert set(definitions.resolve_job_def("seed_stages_job").asset_layer.selected_asset_keys) == {
        dg.AssetKey("seed_qa"), dg.AssetKey("seed_kps")}
    context = dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2026, 11, 24, 2))
    requests = definitions.resolve_schedule_def("nightly_seed_stages_schedule")(context)
    assert [r.partition_key for r in requests] == list(DISCIPLINES)
    assert len({r.run_key for r in requests}) == len(DISCIPLINES)
    assert all(r.run_key.startswith("2026-11-24T02:00:") for r in requests)
    specs = {s.key.to_user_string(): s for s in definitions.resolve_all_asset_specs()}
    # the side tables (external assets) change with their writer: they need no condition of their own
    assert {key for key, spec in specs.items() if spec.automation_condition is None} == {"seed_qa", *SIDE_TABLES}
    sensors = {sensor.name: sensor for sensor in definitions.sensors}
    assert set(sensors) == {"linksyn_automation", "next_round_sensor"}  # the latter: test_next_round_sensor.py
    assert isinstance(sensors["linksyn_automation"], dg.AutomationConditionSensorDefinition)
    # turned on in the UI, as the schedule
    assert all(sensor.default_status == dg.DefaultSensorStatus.STOPPED for sensor in sensors.values())


def test_the_cli_takes_its_stage_order_from_the_asset_graph(definitions):
    stages = pipeline_stages(definitions)
    assert [(stage.assets, stage.partitioned) for stage in stages] == [
        (("seed_qa", "seed_kps"), True),
        (("knowledge_points", "kp_graph", "walk_plan"), False),
        (("kp_paths", "synthesized_qa", "enhanced_qa", "verified_qa"), True),
        (("linkqa_dataset", "distribution_report"), False),
    ]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_dagster_definitions_validate():
    result = _run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dg_check_defs():
    dg_bin = shutil.which("dg", path=os.path.dirname(sys.executable))
    assert dg_bin, "dg (dagster-dg-cli) is a project dependency"
    result = _run([dg_bin, "check", "defs"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_file_validates(tmp_path):
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing in CI: `make test` installs it from Debian")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    env = {**os.environ, "NEO4J_PASSWORD": "a-test-password"}
    result = subprocess.run([compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "127.0.0.1:7687:7687" in result.stdout and "a-test-password" in result.stdout
    # no password default in the file: without the variable, compose refuses
    bare = {k: v for k, v in os.environ.items() if k != "NEO4J_PASSWORD"}
    refused = subprocess.run([compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config"],
                             env=bare, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "NEO4J_PASSWORD" in refused.stderr


def _warehouse_schema() -> dict[str, list[str]]:
    """The columns of every table sql/duckdb/schema.sql creates, in order."""
    import duckdb

    from linksyn_dagster.queries import split_statements, sql

    with duckdb.connect(":memory:") as conn:
        for statement in split_statements(sql("schema")):
            conn.execute(statement)
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "ORDER BY table_name, ordinal_position").fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def test_every_warehouse_table_is_an_asset_written_by_its_writer(definitions):
    """A table the warehouse schema creates is an asset (or one per writer, keyed
    <table>/<writer>) with that table's columns, reported by the asset that writes it; a new
    table without an asset fails here."""
    tables = _warehouse_schema()
    graph = definitions.resolve_asset_graph()
    specs = {s.key.to_user_string(): s for s in definitions.resolve_all_asset_specs()}
    assert {key.path[0] for key in graph.get_all_asset_keys()} >= set(tables)
    side = {key: spec for key, spec in specs.items() if spec.metadata.get("dagster/table_name") in tables}
    assert set(side) == set(SIDE_TABLES)
    for key, spec in side.items():
        table = spec.metadata["dagster/table_name"]
        assert spec.key.path[0] == table and len(spec.key.path) == (1 if key == table else 2), key
        assert [c.name for c in spec.metadata["dagster/column_schema"].columns] == tables[table], key
        writer = SIDE_TABLES[key]
        assert spec.metadata["written_by"] == writer and graph.get(dg.AssetKey(writer)).is_materializable, key
        assert not graph.get(spec.key).is_materializable, f"{key}: only its writer writes it"
        assert spec.partitions_def == specs[writer].partitions_def or key == "seed_rejects", key


def test_every_column_of_every_asset_schema_is_described(definitions):
    """Every column schema on an asset's definition describes every column; the assets
    without one are the IO-managed tables (their frames are checked in the test below) and
    those that are no table."""
    without = set()
    for spec in definitions.resolve_all_asset_specs():
        schema = spec.metadata.get("dagster/column_schema")
        if schema is None:
            without.add(spec.key.to_user_string())
            continue
        assert schema.columns, spec.key
        for column in schema.columns:
            assert column.description and len(column.description) > 8, (spec.key, column.name)
    assert without == set(NO_DEFINED_COLUMNS)


def test_every_column_of_every_table_asset_is_described():
    """The column descriptions cover each table's schema; a frame with an undescribed column
    is refused when its metadata is built (every materialization in the suite would fail)."""
    import polars as pl

    from linksyn_dagster.core.seeds import SEED_SCHEMA
    from linksyn_dagster.defs import columns
    from linksyn_dagster.defs.knowledge.assets import SEED_KPS_SCHEMA
    from linksyn_dagster.defs.metadata import column_schema
    from linksyn_dagster.defs.paths.assets import PATHS_SCHEMA
    from linksyn_dagster.defs.synthesis.assets import ENHANCED_SCHEMA, QA_SCHEMA, VERIFIED_SCHEMA

    for schema, described in ((SEED_SCHEMA, columns.SEED_QA), (SEED_KPS_SCHEMA, columns.SEED_KPS),
                              (PATHS_SCHEMA, columns.PATHS), (QA_SCHEMA, columns.QA),
                              (ENHANCED_SCHEMA, columns.ENHANCED), (VERIFIED_SCHEMA, columns.VERIFIED)):
        assert set(schema) == set(described)
    assert set(columns.RELEASE) == (set(VERIFIED_SCHEMA) - {"reasoning", "selected", "judge_answers", "judge_levels",
                                                            "difficulty_confidence", "round"}) | {"quality_flags",
                                                                                                  "tokens"}
    assert all(text and len(text) > 8 for table in (columns.SEED_QA, columns.KNOWLEDGE_POINTS, columns.RELEASE)
               for text in table.values())
    frame = pl.DataFrame({"seed_id": ["s"], "mystery": [1]})
    with pytest.raises(ValueError, match="mystery"):
        column_schema(frame, columns.SEED_QA)
    assert [c.description for c in column_schema(frame.drop("mystery"), columns.SEED_QA).columns] == [
        columns.SEED_QA["seed_id"]]
