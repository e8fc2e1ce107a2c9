"""Settings reach the assets through resources only: Definitions built from a settings
object run on those settings, whatever the environment says, and secrets given that way
are never written to Dagster's storage."""

from __future__ import annotations

import os

import dagster as dg
import duckdb
import neo4j
import pytest

from linksyn_dagster.core.taxonomy import discipline_for_subject
from linksyn_dagster.definitions import build_definitions, build_resources
from linksyn_dagster.resources.settings import Secret, SettingsResource
from linksyn_dagster.services.neo4j_server import LocalNeo4j
from linksyn_dagster.settings import LinkSynSettings, LLMSettings, Neo4jSettings, WarehouseSettings
from linksyn_dagster_tests.conftest import SHARED_DATA
from linksyn_dagster_tests.fixtures_neo4j import TEST_HEAP, TEST_PAGECACHE, free_ports
from linksyn_dagster_tests.secret_scan import files_holding

API_KEY = "sk-two-settings-7d0c51e2a9-secret"


def _no_settings_in_the_environment(monkeypatch) -> None:
    for name in list(os.environ):
        # LINKSYN_JAR_CACHE is where the Neo4j jars are cached, not a setting
        if name.startswith("LINKSYN_") and name != "LINKSYN_JAR_CACHE":
            monkeypatch.delenv(name)


def _seed_dir(tmp_path, name: str, relative: str):
    directory = tmp_path / name
    directory.mkdir()
    (directory / relative.rsplit("/", 1)[1]).symlink_to(SHARED_DATA / relative)
    return directory


def _materialize(settings: LinkSynSettings, discipline: str) -> None:
    """The seed stages of one discipline, then the KPs and the graph, on Definitions built
    from ``settings``, in an instance of their own under the data dir."""
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance = dg.DagsterInstance.local_temp(tempdir=str(settings.dagster_home))
    try:
        for selection, partition in ((["seed_qa", "seed_kps"], discipline), (["knowledge_points", "kp_graph"], None)):
            result = job.execute_in_process(instance=instance, partition_key=partition,
                                            asset_selection=[dg.AssetKey(k) for k in selection])
            assert result.success, selection
    finally:
        instance.dispose()


def _graph(uri: str, user: str, password: str) -> tuple[set[str], set[str]]:
    """The seed ids and the KP ids in a Neo4j server."""
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        seeds = {r["id"] for r in driver.execute_query("MATCH (s:Seed) RETURN s.seed_id AS id").records}
        kps = {r["id"] for r in driver.execute_query("MATCH (k:KnowledgePoint) RETURN k.kp_id AS id").records}
    return seeds, kps


def _tables(settings: LinkSynSettings) -> tuple[set[str], set[str], set[str]]:
    """The seed ids, their disciplines and the KP ids in the DuckDB file of ``settings``."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        rows = conn.execute("SELECT seed_id, discipline FROM seed_qa").fetchall()
        kps = {r[0] for r in conn.execute("SELECT kp_id FROM knowledge_points").fetchall()}
    return {r[0] for r in rows}, {r[1] for r in rows}, kps


@pytest.mark.slow
def test_two_settings_objects_in_one_process_each_run_on_their_own(
        tmp_path, monkeypatch, neo4j_server, neo4j_driver, llm_server):
    """No LINKSYN_* variable is set. Settings A use the session's Neo4j server (its password
    given in the object) and a physics seed; settings B use a Neo4j server LinkSyn starts
    itself under B's data dir, and a biology seed. Each run writes only its own DuckDB and
    its own graph, and A's password and API key are nowhere under A's data dir."""
    _no_settings_in_the_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no .env either
    llm = {"model": llm_server.litellm_model, "api_base": llm_server.api_base, "api_key": API_KEY,
           "concurrency": 8}
    a = LinkSynSettings.model_validate({
        "data_dir": tmp_path / "a",
        "seeds": {"source_dir": _seed_dir(tmp_path, "seeds_a", "mmlu/dev/high_school_physics_dev.csv")},
        "neo4j": {"uri": neo4j_server.uri, "user": neo4j_server.user, "password": neo4j_server.password},
        "llm": llm,
    })
    bolt, http = free_ports(2)
    b = LinkSynSettings.model_validate({
        "data_dir": tmp_path / "b",
        "seeds": {"source_dir": _seed_dir(tmp_path, "seeds_b", "mmlu/dev/college_biology_dev.csv")},
        "neo4j": {"bolt_port": bolt, "http_port": http, "heap": TEST_HEAP, "pagecache": TEST_PAGECACHE},
        "llm": llm,
    })
    physics, biology = discipline_for_subject("high_school_physics"), discipline_for_subject("college_biology")
    assert physics != biology
    local_b = LocalNeo4j.from_settings(b)
    try:
        _materialize(a, physics)
        _materialize(b, biology)
        b_seeds, b_disciplines, b_kps = _tables(b)
        assert b_disciplines == {biology} and len(b_seeds) == 5 and b_kps
        # B's graph is on the server B's settings named, started under B's data dir
        assert local_b.status()["running"] and local_b.home == b.data_dir / "neo4j"
        assert _graph(local_b.uri, local_b.user, local_b.password) == (b_seeds, b_kps)
    finally:
        local_b.stop()
    a_seeds, a_disciplines, a_kps = _tables(a)
    assert a_disciplines == {physics} and len(a_seeds) == 5 and a_kps
    assert _graph(neo4j_server.uri, neo4j_server.user, neo4j_server.password) == (a_seeds, a_kps)
    assert not (a.data_dir / "neo4j").exists()
    for secret in (API_KEY, neo4j_server.password):
        assert files_holding(a.data_dir, secret) == []


def test_resources_give_back_the_settings_they_were_built_from(tmp_path):
    """Every section survives the trip through resource config (unset values included),
    and the secrets are not part of any resource's config."""
    settings = LinkSynSettings.model_validate({
        "data_dir": tmp_path / "data",
        "seeds": {"source_dir": tmp_path / "seeds", "max_field_chars": 99},
        "walk": {"paths_total": 7, "target_distribution": {"physics": 0.75, "law": 0.25}, "cross_discipline": "avoid"},
        "synthesis": {"difficulty_mix_by_discipline": {"law": {"5": 1}}, "difficulty_mix": {"1": 0.5, "5": 0.5},
                      "verifier_model": "openai/v", "verifier_samples": 5},
        "release": {"near_dup_threshold": 0.8, "license": "cc-by-4.0"},
        "decontam": {"benchmark_paths": [tmp_path / "bench.csv"], "min_overlap": 0.25},
        "neo4j": {"uri": "bolt://db.example:7687", "password": "neo-secret", "writers": 3},
        "llm": {"model": "openai/x", "api_key": "key-secret", "budget_usd": 2.5, "fallback_models": ["openai/y"],
                "result_store_url": "postgresql://u:pg-secret@db:5432/llm"},
        "warehouse": {"catalog_url": "postgresql://u:wh-secret@db:5432/wh", "files_dir": tmp_path / "wh"},
    })
    resources = build_resources(settings)
    assert isinstance(resources["settings"], SettingsResource)
    assert resources["settings"].value == settings.model_copy(update={"neo4j": Neo4jSettings(), "llm": LLMSettings(),
                                                                      "warehouse": WarehouseSettings()})
    graph, llm = resources["graph"]._config, resources["llm"]._config
    assert graph.neo4j == settings.neo4j and graph.data_dir == settings.data_dir
    assert llm.llm == settings.llm and llm.data_dir == settings.data_dir
    for resource in resources.values():
        config = repr({k: v for k, v in resource.__dict__.items() if not isinstance(v, Secret)}) + repr(resource)
        leaked = [secret for secret in ("neo-secret", "key-secret", "pg-secret", "wh-secret") if secret in config]
        assert leaked == [], type(resource).__name__
    assert resources["graph"].password.value == "neo-secret" and resources["llm"].api_key.value == "key-secret"
    assert resources["llm"].result_store_url.value == "postgresql://u:pg-secret@db:5432/llm"
    # the IO manager writes through the warehouse resource: the catalog, not the DuckDB file
    assert resources["io_manager"].warehouse is resources["warehouse"]
    assert resources["warehouse"].catalog_url.value == "postgresql://u:wh-secret@db:5432/wh"
    assert resources["warehouse"].files_dir == str(tmp_path / "wh")


def test_every_optional_setting_defaults_to_unset():
    """Resource config leaves unset values out (Dagster maps hold no nulls); that round trip
    is exact only while no optional setting has a default other than unset."""
    from linksyn_dagster.resources.settings import SECTIONS

    for name in (*SECTIONS, "neo4j", "llm"):
        model = LinkSynSettings.model_fields[name].annotation
        for field_name, field in model.model_fields.items():
            if not field.is_required() and field.get_default(call_default_factory=True) is not None:
                try:
                    model.model_validate({field_name: None})
                except Exception:  # noqa: BLE001 (None is refused: fine)
                    continue
                pytest.fail(f"{name}.{field_name} accepts None but defaults to something else")
