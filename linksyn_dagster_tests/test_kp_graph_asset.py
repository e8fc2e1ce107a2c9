"""The kp_graph asset through Dagster: a first load is full, later ones write only what
changed, and a graph changed behind its back is loaded whole again."""

from __future__ import annotations

import dagster as dg
import duckdb
import neo4j
import polars as pl
import pytest

from linksyn_dagster.core.cooccurrence import cooccurrence_edges
from linksyn_dagster.defs.graph.assets import kp_graph, neo4j_counts_match_duckdb
from linksyn_dagster.definitions import build_resources

pytestmark = pytest.mark.neo4j


def _write_tables(settings, seeds: dict[str, list[str]]) -> None:
    """The DuckDB tables kp_graph reads, for seeds given as {seed_id: [kp_id, ...]}."""
    links = pl.DataFrame([(s, k) for s, kps in seeds.items() for k in kps], schema=["seed_id", "kp_id"], orient="row")
    seed_qa = pl.DataFrame({"seed_id": list(seeds)}).with_columns(
        discipline=pl.lit("physics"), subject=pl.lit("high_school_physics"), language=pl.lit("en"),
        question=pl.format("What does seed {} ask?", pl.col("seed_id")))
    kps = (links.group_by("kp_id").agg(frequency=pl.len())
           .with_columns(name=pl.format("KP {}", pl.col("kp_id")), disciplines=pl.lit(["physics"]),
                         primary_discipline=pl.lit("physics"), aliases=pl.concat_list(pl.col("kp_id"))))
    edges = cooccurrence_edges(links)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as conn:
        for name, frame in (("seed_qa", seed_qa), ("knowledge_points", kps), ("seed_kp_links", links),
                            ("kp_cooccurrence", edges)):
            conn.register("incoming", frame.to_arrow())
            conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
            conn.unregister("incoming")


def _materialize(settings) -> dict:
    # knowledge_points is read from its DuckDB table, as the IO manager reads it in a run
    result = dg.materialize([dg.SourceAsset("knowledge_points"), kp_graph, neo4j_counts_match_duckdb],
                            resources=build_resources(settings))
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]  # Neo4j's counts equal DuckDB's
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _edges(driver: neo4j.Driver) -> set:
    records = driver.execute_query("MATCH (a:KnowledgePoint)-[e:CO_OCCURS]->(b:KnowledgePoint) "
                                   "RETURN a.kp_id AS a, b.kp_id AS b, e.weight AS w").records
    return {(r["a"], r["b"], r["w"]) for r in records}


def test_loads_are_incremental_until_the_graph_is_changed_by_hand(pipeline_settings, neo4j_driver) -> None:
    settings = pipeline_settings
    seeds = {f"s{i:03d}": [f"kp_{i % 7}", f"kp_{(i * 3) % 11}", f"kp_{i % 13 + 20}"] for i in range(60)}
    _write_tables(settings, seeds)
    first = _materialize(settings)
    assert first["written"] is True and first["load/mode"] == "full"
    assert first["load/rows/co_occurs_created"] == first["neo4j/co_occurs"] > 20

    # two new seeds: only their links, their new edges and the KPs they touch are written
    seeds |= {"s900": ["kp_1", "kp_50"], "s901": ["kp_50", "kp_51", "kp_2"]}
    _write_tables(settings, seeds)
    second = _materialize(settings)
    assert second["load/mode"] == "incremental"
    assert second["load/rows/has_kp_created"] == 5 and second["load/rows/seeds_created"] == 2
    assert second["load/rows/kps_created"] == 2  # kp_50, kp_51
    assert second["load/rows/co_occurs_created"] < first["load/rows/co_occurs_created"]
    expected = {tuple(r) for r in cooccurrence_edges(pl.DataFrame(
        [(s, k) for s, kps in seeds.items() for k in kps], schema=["seed_id", "kp_id"], orient="row")).rows()}
    assert _edges(neo4j_driver) == expected

    # unchanged: nothing written
    assert _materialize(settings)["written"] is False

    # a graph whose KPs were labelled for another Browser style (an older LinkSyn, no labels)
    # is loaded again whole, with this style's labels
    neo4j_driver.execute_query("MATCH (m:GraphMeta {name: 'kp_graph'}) SET m.style = 'older' "
                               "WITH m MATCH (k:KnowledgePoint) REMOVE k:$([l IN labels(k) WHERE l <> 'KnowledgePoint'])")
    restyled = _materialize(settings)
    assert restyled["written"] is True and restyled["load/mode"] == "full"
    unlabelled = neo4j_driver.execute_query("MATCH (k:KnowledgePoint) WHERE size(labels(k)) <> 3 RETURN count(k) AS n")
    assert unlabelled.records[0]["n"] == 0
    assert _materialize(settings)["written"] is False

    # someone deletes a KP in Neo4j Browser: the blocking counts check, run alone, says so
    neo4j_driver.execute_query("MATCH (k:KnowledgePoint {kp_id: 'kp_1'}) DETACH DELETE k")
    alone = dg.materialize([dg.SourceAsset("knowledge_points"), kp_graph, neo4j_counts_match_duckdb],
                           resources=build_resources(settings), raise_on_error=False,
                           selection=dg.AssetSelection.checks(neo4j_counts_match_duckdb))
    assert not alone.get_asset_materialization_events()
    (check,) = alone.get_asset_check_evaluations()
    mismatches = check.metadata["mismatches (neo4j, duckdb)"].value
    assert not check.passed and "'knowledge_points'" in mismatches and "'has_kp'" in mismatches
    # the saved state no longer describes the graph, so the next load (a seed gone) is a full
    # one and repairs it
    del seeds["s000"]
    _write_tables(settings, seeds)
    repaired = _materialize(settings)
    assert repaired["load/mode"] == "full"
    expected = {tuple(r) for r in cooccurrence_edges(pl.DataFrame(
        [(s, k) for s, kps in seeds.items() for k in kps], schema=["seed_id", "kp_id"], orient="row")).rows()}
    assert _edges(neo4j_driver) == expected
