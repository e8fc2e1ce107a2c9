"""kp_graph: the KP co-occurrence graph in Neo4j, loaded idempotently from DuckDB (the load
itself is ``Neo4jResource.sync``), and the blocking check that Neo4j holds what DuckDB does."""


import dagster as dg
import polars as pl

from linksyn_dagster.core.graph_load import GraphTables, delta_of_changes, graph_sums, version_of
from linksyn_dagster.core.graph_style import STYLE_VERSION
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.defs.automation import runs_after, with_its_asset

CHECK_COUNTS_MATCH = "neo4j_counts_match_duckdb"
BROWSER_QUERIES = "browser/examples"


@dg.asset(
    deps=["seed_qa", "seed_kp_links", "kp_cooccurrence", "kp_changes"],
    kinds={"neo4j"},
    group_name="graph",
    automation_condition=runs_after("knowledge_points"),
)
def kp_graph(context: dg.AssetExecutionContext, knowledge_points: pl.DataFrame, graph: Neo4jResource,
             warehouse: WarehouseResource) -> dg.MaterializeResult:
    """(:KnowledgePoint)-[:CO_OCCURS {weight}]-(:KnowledgePoint), (:Seed)-[:HAS_KP]->(:KnowledgePoint)
    and (:KnowledgePoint)-[:IN_DISCIPLINE]->(:Discipline) in Neo4j, as DuckDB holds them.

    When Neo4j holds the knowledge state the last run of knowledge_points started from, the
    graph gets exactly what that run changed (`kp_changes`), and its version moves by the
    rows added and removed: nothing reads or hashes the whole graph. Otherwise the tables
    are compared with the state last written (``Neo4jResource.sync``): only the difference is
    loaded, a graph changed by hand or a load stopped half-way is written whole, and an
    unchanged graph is not written at all. Coverage counters (`visits`) on KP nodes are set
    by walk_plan."""
    changes = warehouse.query("kp_changes_all") if warehouse.table_exists("kp_changes") else pl.DataFrame()
    first = changes.row(0, named=True) if changes.height else {"from_state": None, "to_state": None}
    meta = graph.meta()
    holds = meta["version"] is not None and meta["style"] == STYLE_VERSION and meta["sums"] is not None
    if holds and first["to_state"] is not None and meta["knowledge_state"] == first["to_state"]:
        context.log.info(f"kp_graph: Neo4j holds knowledge state {first['to_state']} already; nothing to write")
        version, load = meta["version"], {"written": False, "load/mode": "changes"}
    elif holds and first["from_state"] is not None and meta["knowledge_state"] == first["from_state"]:
        seeds = warehouse.query("graph_seeds_of", frames={
            "wanted_seeds": changes.filter(pl.col("kind") == "seed").select("seed_id")})
        delta, sums = delta_of_changes(changes, knowledge_points, seeds, meta["sums"])
        version = version_of(sums)
        if delta.empty and version == meta["version"]:  # knowledge_points ran without new seeds
            load = {"written": False, "load/mode": "changes"}
        else:
            load = graph.apply_changes(delta, version, log=context.log.info)
        graph.mark_state(version, first["to_state"], sums)
    else:
        links = warehouse.query("all_seed_kp_links")
        edges = warehouse.query("all_kp_cooccurrence")
        seeds = warehouse.query("seeds_with_kps")
        sums = graph_sums(knowledge_points, links, edges, seeds)
        version = version_of(sums)
        load = graph.sync(GraphTables(kps=knowledge_points, seeds=seeds, links=links, edges=edges), version,
                          log=context.log.info)
        graph.mark_state(version, first["to_state"], sums)
    return dg.MaterializeResult(metadata={
        "graph_version": version,
        **load,
        "neo4j_uri": graph.uri,
        **{f"neo4j/{k}": int(v) for k, v in graph.counts().items()},
        "browser_queries": dg.MetadataValue.md(
            "Paste into Neo4j Browser (`linksyn neo4j status` prints its address):\n\n```cypher\n"
            + cypher(BROWSER_QUERIES).strip() + "\n```"),
    })


@dg.asset_check(asset="kp_graph", name=CHECK_COUNTS_MATCH, blocking=True,
                automation_condition=with_its_asset(),
                description="node and relationship counts in Neo4j equal the DuckDB tables; blocking: the walk "
                            "plan does not run on a graph that differs (re-run it alone after touching Neo4j)")
def neo4j_counts_match_duckdb(graph: Neo4jResource, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    expected = {**warehouse.query("graph_expected_counts").row(0, named=True), "disciplines": len(DISCIPLINES)}
    counts = graph.counts()
    mismatches = {k: (int(counts[k]), int(v)) for k, v in expected.items() if counts[k] != v}
    return dg.AssetCheckResult(passed=not mismatches,
                               metadata={"mismatches (neo4j, duckdb)": str(mismatches) or "none"})
