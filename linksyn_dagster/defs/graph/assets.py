"""kp_graph: the KP co-occurrence graph in Neo4j, loaded idempotently from DuckDB."""


import hashlib
from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.taxonomy import DISCIPLINES, display_name
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.warehouse import WarehouseResource

CHECK_COUNTS_MATCH = "neo4j_counts_match_duckdb"
BROWSER_QUERIES = "browser/examples"


KP_NODE_COLUMNS = ["kp_id", "name", "frequency", "disciplines", "primary_discipline", "aliases"]


def graph_version(kps: pl.DataFrame, links: pl.DataFrame, edges: pl.DataFrame, seeds: pl.DataFrame) -> str:
    """A content hash of everything the graph holds (and nothing else: not when a KP was
    first extracted): equal graphs give an equal version, so an unchanged graph is not
    written again, and paths (whose ids carry the version) are reproducible."""
    kps = kps.select(KP_NODE_COLUMNS)
    digest = hashlib.sha256()
    for frame, key in ((kps, ["kp_id"]), (links, ["seed_id", "kp_id"]), (edges, ["kp_a", "kp_b"]),
                       (seeds, ["seed_id"])):
        digest.update(str(frame.sort(key).hash_rows(seed=7).sum()).encode())
        digest.update(str(frame.height).encode())
    return digest.hexdigest()[:16]


@dg.asset(
    deps=["seed_qa"],
    kinds={"neo4j"},
    group_name="graph",
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[dg.AssetCheckSpec(CHECK_COUNTS_MATCH, asset="kp_graph",
                                   description="node and edge counts in Neo4j equal the DuckDB tables")],
)
def kp_graph(context: dg.AssetExecutionContext, knowledge_points: pl.DataFrame, graph: Neo4jResource,
             warehouse: WarehouseResource) -> Iterator:
    """(:KnowledgePoint)-[:CO_OCCURS {weight}]-(:KnowledgePoint), (:Seed)-[:HAS_KP]->(:KnowledgePoint)
    and (:KnowledgePoint)-[:IN_DISCIPLINE]->(:Discipline) in Neo4j. Written with batched,
    parameterized MERGE; properties and weights are SET from DuckDB (never incremented), and
    whatever the current version no longer holds is removed, so re-materializing converges
    to the same graph. Coverage counters (`visits`) on KP nodes are kept for kp_paths."""
    links = warehouse.query("all_seed_kp_links")
    edges = warehouse.query("all_kp_cooccurrence")
    seeds = warehouse.query("seeds_with_kps")
    version = graph_version(knowledge_points, links, edges, seeds)

    graph.run_script("schema")
    current = graph.read("graph_meta_get")
    unchanged = bool(current) and current[0]["version"] == version
    if unchanged:
        context.log.info(f"kp_graph: Neo4j already holds graph version {version}; nothing to write")
    else:
        graph.run_batched("upsert_disciplines",
                          [{"name": d, "display_name": display_name(d)} for d in DISCIPLINES], version=version)
        graph.run_batched("upsert_knowledge_points", knowledge_points.select(KP_NODE_COLUMNS).iter_rows(named=True),
                          version=version)
        graph.run_batched("upsert_seeds", seeds.iter_rows(named=True), version=version)
        graph.run_batched("upsert_has_kp", links.iter_rows(named=True), version=version)
        graph.run_batched("upsert_cooccurs", edges.iter_rows(named=True), version=version)
        graph.run_script("delete_stale", version=version)
        graph.run("graph_meta_set", version=version)  # last: a half-done load is redone next time

    counts = graph.read("graph_counts")[0]
    expected = {"knowledge_points": knowledge_points.height, "seeds": seeds.height,
                "disciplines": len(DISCIPLINES), "co_occurs": edges.height, "has_kp": links.height}
    mismatches = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    yield dg.MaterializeResult(metadata={
        "graph_version": version,
        "written": not unchanged,
        "neo4j_uri": graph.uri,
        **{f"neo4j/{k}": int(v) for k, v in counts.items()},
        "browser_queries": dg.MetadataValue.md(
            "Paste into Neo4j Browser (`linksyn neo4j status` prints its address):\n\n```cypher\n"
            + cypher(BROWSER_QUERIES).strip() + "\n```"),
    })
    yield dg.AssetCheckResult(check_name=CHECK_COUNTS_MATCH, passed=not mismatches,
                              metadata={"mismatches (neo4j, duckdb)": str(mismatches) or "none"})
