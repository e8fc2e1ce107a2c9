"""Increments of knowledge_points and kp_graph through Dagster, on the real Neo4j: seeds
added in several steps leave the same tables and the same graph (nodes, relationships,
properties, version) as one fresh run over all of them, and the increments are incremental
(knowledge_points canonicalizes only the new seeds, kp_graph writes the changes it was
given). On both warehouses: the DuckDB file, and the Parquet files of a Postgres catalog
(where knowledge_points edits its state tables in memory and writes them back)."""

from __future__ import annotations

import random

import dagster as dg
import neo4j
import numpy as np
import polars as pl
import psycopg
import pytest

from linksyn_dagster.defs.graph.assets import kp_graph, neo4j_counts_match_duckdb
from linksyn_dagster.defs.knowledge.assets import knowledge_points
from linksyn_dagster.defs.paths.assets import CSR_CACHE_DIR, walk_graph_changes
from linksyn_dagster.definitions import build_resources
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph_csr import read_kp_graph_csr
from linksyn_dagster.resources.warehouse import read_warehouse
from linksyn_dagster.settings import load_settings
from linksyn_dagster_tests.core.test_kp_increment import _bridges, _early, _mentions

pytestmark = pytest.mark.neo4j
TABLES = {"knowledge_points": "kp_id", "seed_kp_links": "seed_id, kp_id", "kp_cooccurrence": "kp_a, kp_b",
          "kp_names": "kp_name", "kp_counts": "kp_id, kind, value"}


@pytest.fixture(params=["duckdb", "catalog"])
def catalogs(request) -> dict[str, str | None]:
    """The warehouse catalog of each of the test's two data dirs: none (the DuckDB file), or a
    Postgres database each."""
    if request.param == "duckdb":
        return {"increments": None, "fresh": None}
    url = request.getfixturevalue("postgres_url")
    base, name = url.rsplit("/", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}_fresh"')
    return {"increments": url, "fresh": f"{base}/{name}_fresh"}


def _settings(tmp_path, monkeypatch, neo4j_server, name: str, catalog: str | None):
    for key, value in {"LINKSYN_DATA_DIR": str(tmp_path / name), "LINKSYN_NEO4J__URI": neo4j_server.uri,
                       "LINKSYN_NEO4J__USER": neo4j_server.user, "LINKSYN_NEO4J__PASSWORD": neo4j_server.password,
                       "DAGSTER_HOME": str(tmp_path / name / "dagster_home")}.items():
        monkeypatch.setenv(key, value)
    if catalog:
        monkeypatch.setenv("LINKSYN_WAREHOUSE__CATALOG_URL", catalog)
    else:
        monkeypatch.delenv("LINKSYN_WAREHOUSE__CATALOG_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _add_seeds(settings, kps: pl.DataFrame) -> None:
    """Append the seed_kps rows (and their seeds to seed_qa), as seed stages of new seeds would."""
    seeds = kps.select("seed_id", "discipline").unique("seed_id").with_columns(
        subject=pl.lit("general"), language=pl.lit("en"), question=pl.format("What does {} ask?", pl.col("seed_id")))
    warehouse = build_resources(settings)["warehouse"]
    for table, frame in (("seed_kps", kps), ("seed_qa", seeds)):
        before = warehouse.read_slice(table, None, [])
        warehouse.write_slice(table, frame if before is None else pl.concat([before, frame], how="diagonal_relaxed"),
                              None, [])


def _run(settings) -> tuple[dict, dict]:
    result = dg.materialize([knowledge_points, kp_graph, neo4j_counts_match_duckdb],
                            resources=build_resources(settings))
    assert result.success
    assert [c.passed for c in result.get_asset_check_evaluations() if c.check_name.startswith("neo4j")] == [True]
    meta = {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}
    for table in ("seed_kp_links", "kp_cooccurrence", "kp_names", "kp_counts", "kp_changes"):
        # what the UI shows of each side table, after a full run and an increment alike
        assert meta[table]["dagster/row_count"] > 0 and meta[table]["dagster/column_schema"].columns, table
        assert meta[table]["preview"].startswith("|"), (table, meta[table]["preview"])
    return meta["knowledge_points"], meta["kp_graph"]


def _tables(settings) -> dict[str, pl.DataFrame]:
    with read_warehouse(settings) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY {order}").pl() for t, order in TABLES.items()}


def _graph(driver: neo4j.Driver) -> tuple[list, list]:
    """Every node (labels, properties) and relationship (type, end keys, properties), sorted;
    of the GraphMeta node only what describes the content (its version and version sums)."""
    nodes = []
    for r in driver.execute_query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p").records:
        props = dict(r["p"])
        if "GraphMeta" in r["l"]:
            props = {k: props.get(k) for k in ("version", "sums", "style")}
        nodes.append(repr((sorted(r["l"]), sorted((k, repr(v)) for k, v in props.items()))))
    rels = [repr((r["t"], r["a"], r["b"], sorted((k, repr(v)) for k, v in dict(r["p"]).items())))
            for r in driver.execute_query(
                "MATCH (a)-[e]->(b) RETURN type(e) AS t, coalesce(a.kp_id, a.seed_id) AS a, "
                "coalesce(b.kp_id, b.name) AS b, properties(e) AS p").records]
    return sorted(nodes), sorted(rels)


def _wipe(driver: neo4j.Driver) -> None:
    with driver.session() as session:
        for statement in [s for s in cypher("load/wipe").split(";") if s.strip()]:
            session.run(statement).consume()
        session.run("MATCH (m:GraphMeta) DELETE m").consume()


def _walk_graph_patched(settings, elsewhere, patched: bool) -> None:
    """The walk plan's graph after a step: made from the step before's cached graph and
    kp_changes (after an increment), and equal to the graph read whole from Neo4j."""
    resources = build_resources(settings)
    csr, transfer = read_kp_graph_csr(resources["graph"], settings.data_dir / CSR_CACHE_DIR,
                                      changes=lambda: walk_graph_changes(resources["warehouse"]))
    assert transfer.patched is patched and not transfer.cache_hit
    streamed, read = read_kp_graph_csr(resources["graph"], elsewhere)
    assert not read.patched and not read.cache_hit and read.version == transfer.version
    assert csr.node_ids.tolist() == streamed.node_ids.tolist() and csr.discipline_names == streamed.discipline_names
    for name in ("indptr", "indices", "weights", "frequency", "discipline"):
        assert np.array_equal(getattr(csr, name), getattr(streamed, name)), name


def test_increments_equal_a_fresh_run(tmp_path, monkeypatch, neo4j_server, neo4j_driver, catalogs) -> None:
    rng = random.Random(11)
    corpus = _mentions(300, rng)
    seeds = corpus.get_column("seed_id").unique().sort().to_list()
    rng.shuffle(seeds)  # each step mixes disciplines
    steps = [pl.concat([_early(), corpus.filter(pl.col("seed_id").is_in(seeds[:150]))]),
             corpus.filter(pl.col("seed_id").is_in(seeds[150:220])),
             pl.concat([corpus.filter(pl.col("seed_id").is_in(seeds[220:221])), _bridges()]),
             corpus.filter(pl.col("seed_id").is_in(seeds[221:]))]

    _wipe(neo4j_driver)
    settings = _settings(tmp_path, monkeypatch, neo4j_server, "increments", catalogs["increments"])
    for i, step in enumerate(steps):
        _add_seeds(settings, step)
        knowledge, graph = _run(settings)
        _walk_graph_patched(settings, tmp_path / f"streamed-{i}", patched=i > 0)
        assert knowledge["mode"] == ("full" if i == 0 else "increment")
        assert graph["load/mode"] == ("full" if i == 0 else "changes")
        if i:
            # only the new seeds are canonicalized; the graph gets only what changed
            assert knowledge["increment/new_seeds"] == step.get_column("seed_id").n_unique() - (
                step.filter(pl.col("kp_name") != "!!!").get_column("seed_id").n_unique() != step.get_column(
                    "seed_id").n_unique())
            assert graph["load/rows/has_kp_created"] == knowledge["increment/links_added"]
            assert graph["load/rows/seeds_created"] <= step.get_column("seed_id").n_unique()
            if i == 2:
                assert knowledge["increment/kps_removed"] >= 3  # the bridges merged KPs
                assert graph["load/rows/kps_deleted"] == knowledge["increment/kps_removed"]
    # kp_graph again: it holds the state already
    assert _run(settings)[1]["written"] is False
    got_tables, got_graph, got_version = _tables(settings), _graph(neo4j_driver), graph["graph_version"]

    _wipe(neo4j_driver)
    fresh = _settings(tmp_path, monkeypatch, neo4j_server, "fresh", catalogs["fresh"])
    _add_seeds(fresh, pl.concat(steps))
    knowledge, graph = _run(fresh)
    assert knowledge["mode"] == "full" and graph["load/mode"] == "full"
    want_tables = _tables(fresh)
    for table in TABLES:
        assert got_tables[table].equals(want_tables[table]), table
    assert graph["graph_version"] == got_version
    nodes, rels = _graph(neo4j_driver)
    assert len(rels) > 500
    assert (nodes, rels) == got_graph
