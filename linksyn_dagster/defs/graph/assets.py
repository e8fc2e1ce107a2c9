"""kp_graph: the KP co-occurrence graph in Neo4j, loaded idempotently from DuckDB."""


import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.graph_load import KP_COLUMNS, GraphState, GraphTables, diff, state_of
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.defs.automation import runs_after

CHECK_COUNTS_MATCH = "neo4j_counts_match_duckdb"
BROWSER_QUERIES = "browser/examples"


KP_NODE_COLUMNS = KP_COLUMNS


def _holds(graph: Neo4jResource, state: GraphState) -> bool:
    """Neo4j's counts equal the saved state's (a cheap guard against a graph changed by hand)."""
    counts = graph.read("graph_counts")[0]
    return (counts["knowledge_points"], counts["seeds"], counts["has_kp"], counts["co_occurs"]) == (
        state.kps.height, state.seeds.height, state.links.height, state.edges.height)


def graph_version(kps: pl.DataFrame, links: pl.DataFrame, edges: pl.DataFrame, seeds: pl.DataFrame) -> str:
    """A content hash of everything the graph holds (and nothing else: not when a KP was
    first extracted): equal graphs give an equal version, so an unchanged graph is not
    written again, and paths (whose ids carry the version) are reproducible."""
    kps = kps.select(KP_NODE_COLUMNS)
    digest = hashlib.sha256()
    for frame in (kps, links, edges, seeds):  # a sum of row hashes: row order is not content
        digest.update(str(frame.hash_rows(seed=7).sum()).encode())
        digest.update(str(frame.height).encode())
    return digest.hexdigest()[:16]


@dg.asset(
    deps=["seed_qa", "seed_kp_links", "kp_cooccurrence"],
    kinds={"neo4j"},
    group_name="graph",
    automation_condition=runs_after("knowledge_points"),
    check_specs=[dg.AssetCheckSpec(CHECK_COUNTS_MATCH, asset="kp_graph",
                                   description="node and edge counts in Neo4j equal the DuckDB tables")],
)
def kp_graph(context: dg.AssetExecutionContext, knowledge_points: pl.DataFrame, graph: Neo4jResource,
             warehouse: WarehouseResource) -> Iterator:
    """(:KnowledgePoint)-[:CO_OCCURS {weight}]-(:KnowledgePoint), (:Seed)-[:HAS_KP]->(:KnowledgePoint)
    and (:KnowledgePoint)-[:IN_DISCIPLINE]->(:Discipline) in Neo4j, as DuckDB holds them.
    Incremental: when Neo4j still holds the version this asset last wrote, only the
    difference is written (new and changed nodes and edges, and deletes), so a small change
    costs a small load; otherwise (first load, a load that stopped half-way, a graph changed
    by hand) the KP graph is wiped and written whole. Either way the result is the same
    graph, and an unchanged graph is not written at all. Coverage counters (`visits`) on KP
    nodes are set by walk_plan."""
    links = warehouse.query("all_seed_kp_links")
    edges = warehouse.query("all_kp_cooccurrence")
    seeds = warehouse.query("seeds_with_kps")
    version = graph_version(knowledge_points, links, edges, seeds)
    tables = GraphTables(kps=knowledge_points, seeds=seeds, links=links, edges=edges)

    graph.run_script("schema")
    states = graph.state_store()
    current = graph.read("graph_meta_get")
    neo4j_version = current[0]["version"] if current else None
    load: dict = {"written": False}
    if neo4j_version == version:
        context.log.info(f"kp_graph: Neo4j already holds graph version {version}; nothing to write")
        if states.version() != version:  # e.g. loaded before states were kept
            states.write(version, state_of(tables))
    else:
        saved = states.read(neo4j_version) if neo4j_version and states.version() == neo4j_version else None
        base = saved if saved is not None and _holds(graph, saved) else None
        new_state = state_of(tables)
        delta = diff(base, tables, new_state)
        context.log.info(f"kp_graph: {'incremental' if base else 'full'} load of version {version}: "
                         f"{delta.counts()}")
        with ThreadPoolExecutor(1, thread_name_prefix="graph-state") as background:
            staged = background.submit(states.stage, version, new_state)  # written while Neo4j loads
            report = graph.loader(log=context.log.info).load(delta, version, full=base is None)
            states.commit(staged.result(), version)
        load = {"written": True, "load/mode": "incremental" if base else "full",
                "load/seconds": report.seconds["total"], "load/writers": report.writers,
                **{f"load/rows/{k}": v for k, v in report.rows.items()}}

    counts = graph.read("graph_counts")[0]
    expected = {"knowledge_points": knowledge_points.height, "seeds": seeds.height,
                "disciplines": len(DISCIPLINES), "co_occurs": edges.height, "has_kp": links.height}
    mismatches = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    yield dg.MaterializeResult(metadata={
        "graph_version": version,
        **load,
        "neo4j_uri": graph.uri,
        **{f"neo4j/{k}": int(v) for k, v in counts.items()},
        "browser_queries": dg.MetadataValue.md(
            "Paste into Neo4j Browser (`linksyn neo4j status` prints its address):\n\n```cypher\n"
            + cypher(BROWSER_QUERIES).strip() + "\n```"),
    })
    yield dg.AssetCheckResult(check_name=CHECK_COUNTS_MATCH, passed=not mismatches,
                              metadata={"mismatches (neo4j, duckdb)": str(mismatches) or "none"})
