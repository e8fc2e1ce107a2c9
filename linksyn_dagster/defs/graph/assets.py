"""kp_graph: the KP co-occurrence graph in Neo4j, loaded idempotently from DuckDB (the load
itself is ``Neo4jResource.sync``), and the blocking check that Neo4j holds what DuckDB does."""


import dagster as dg
import polars as pl

from linksyn_dagster.core.graph_load import GraphTables, graph_version
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.defs.automation import runs_after, with_its_asset

CHECK_COUNTS_MATCH = "neo4j_counts_match_duckdb"
BROWSER_QUERIES = "browser/examples"


@dg.asset(
    deps=["seed_qa", "seed_kp_links", "kp_cooccurrence"],
    kinds={"neo4j"},
    group_name="graph",
    automation_condition=runs_after("knowledge_points"),
)
def kp_graph(context: dg.AssetExecutionContext, knowledge_points: pl.DataFrame, graph: Neo4jResource,
             warehouse: WarehouseResource) -> dg.MaterializeResult:
    """(:KnowledgePoint)-[:CO_OCCURS {weight}]-(:KnowledgePoint), (:Seed)-[:HAS_KP]->(:KnowledgePoint)
    and (:KnowledgePoint)-[:IN_DISCIPLINE]->(:Discipline) in Neo4j, as DuckDB holds them.
    Incremental (``Neo4jResource.sync``): only the difference from the version last written
    is loaded, a graph changed by hand or a load stopped half-way is written whole, and an
    unchanged graph is not written at all. Coverage counters (`visits`) on KP nodes are set
    by walk_plan."""
    links = warehouse.query("all_seed_kp_links")
    edges = warehouse.query("all_kp_cooccurrence")
    seeds = warehouse.query("seeds_with_kps")
    version = graph_version(knowledge_points, links, edges, seeds)
    load = graph.sync(GraphTables(kps=knowledge_points, seeds=seeds, links=links, edges=edges), version,
                      log=context.log.info)
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
