"""kp_paths: value-function walks on the KP graph, partitioned by start discipline."""


import json
import zlib
from typing import Iterator

import dagster as dg
import numpy as np
import polars as pl

from linksyn_dagster.core.linking import linked_seeds
from linksyn_dagster.core.prompting import stable_id
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.core.walker import WalkParams, quotas_from_distribution, walk_paths
from linksyn_dagster.defs.metadata import table_metadata
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.graph_csr import read_kp_graph_csr
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import load_settings

CHECK_QUOTA_MET = "path_quota_met"
CHECK_PATH_KPS_EXIST = "path_kps_exist"
CSR_CACHE_DIR = "csr_cache"  # under the data dir: the KP graph as CSR arrays, one file per graph version

PATHS_SCHEMA = {
    "path_id": pl.Utf8, "start_discipline": pl.Utf8, "path_index": pl.Int32, "length": pl.Int32,
    "kp_ids": pl.List(pl.Utf8), "kp_names": pl.List(pl.Utf8), "disciplines": pl.List(pl.Utf8),
    "crosses_disciplines": pl.Boolean, "seed_ids": pl.List(pl.Utf8), "seed_link_strength": pl.List(pl.Int64),
    "walk_params": pl.Utf8, "graph_version": pl.Utf8,
}


def _visit_vector(warehouse: WarehouseResource, disciplines: list[str], index: dict[str, int]) -> np.ndarray:
    visits = np.zeros(len(index), dtype=np.int64)
    if disciplines and warehouse.table_exists("kp_paths"):
        for kp_id, count in warehouse.query("path_visits_from", disciplines=disciplines).iter_rows():
            if kp_id in index:
                visits[index[kp_id]] = count
    return visits


def _partition_seed(base: int, partition: str) -> int:
    return (base * 1_000_003 + zlib.crc32(partition.encode())) % (2**32)


@dg.asset(
    partitions_def=discipline_partitions,
    metadata={"partition_expr": "start_discipline"},
    kinds={"neo4j", "duckdb", "polars"},
    group_name="paths",
    deps=["kp_graph"],
    check_specs=[
        dg.AssetCheckSpec(CHECK_QUOTA_MET, asset="kp_paths",
                          description="the partition holds exactly its quota of paths (if the graph allows)"),
        dg.AssetCheckSpec(CHECK_PATH_KPS_EXIST, asset="kp_paths", description="every path KP is a known KP"),
    ],
)
def kp_paths(context: dg.AssetExecutionContext, knowledge_points: pl.DataFrame, graph: Neo4jResource,
             warehouse: WarehouseResource) -> Iterator:
    """Walks that start in this discipline: P(i→j) ∝ w_ij^β · V(j), with V mixing KP
    popularity and a coverage term that decays with visits. The visits of the stored paths
    of the disciplines before this one (taxonomy order) are the starting counters, so walks
    favour what is still uncovered; after the walk, KP nodes in Neo4j get their `visits`
    (paths of all disciplines). The number of paths comes from the
    target discipline distribution; parameters are recorded with every path."""
    settings = load_settings()
    walk = settings.walk
    discipline = context.partition_key

    # the graph as CSR arrays: streamed from Neo4j once per graph version, then from the cache
    csr, transfer = read_kp_graph_csr(graph, settings.data_dir / CSR_CACHE_DIR)
    version = transfer.version
    context.log.info(f"kp_paths: graph {version} ({csr.n_nodes} KPs, {csr.n_edges} edges) "
                     f"{'from the cache' if transfer.cache_hit else 'read from Neo4j'} in {transfer.read_seconds:.2f}s")
    index = {kp: i for i, kp in enumerate(csr.node_ids.tolist())}
    # Coverage carries over in taxonomy order: a walk starts from the visits of the stored
    # paths of the disciplines before its own, so the result does not depend on the order
    # partitions happen to run in, and re-materializing a partition reproduces its paths.
    order = list(DISCIPLINES)
    earlier = order[: order.index(discipline)] if discipline in order else []
    others = [d for d in order if d != discipline]
    visits = _visit_vector(warehouse, earlier, index)
    available = sorted(csr.discipline_names[c] for c in np.unique(csr.discipline))
    quotas = quotas_from_distribution(walk.paths_total, walk.target_distribution, available)
    quota = quotas.get(discipline, 0)
    params = WalkParams.from_settings(walk, random_seed=_partition_seed(walk.random_seed, discipline))
    result = walk_paths(csr, {discipline: quota}, params, visits) if quota else None

    names = dict(zip(knowledge_points.get_column("kp_id").to_list(), knowledge_points.get_column("name").to_list()))
    primary = dict(zip(csr.node_ids.tolist(), (csr.discipline_names[c] for c in csr.discipline.tolist()), strict=True))
    params_json = json.dumps({**walk.model_dump(), "random_seed": params.random_seed,
                              "quota": quota, "quotas": quotas}, sort_keys=True)
    rows = []
    for number, path in enumerate(result.paths if result else []):
        kp_ids = [str(csr.node_ids[i]) for i in path]
        crossed = list(dict.fromkeys(primary[k] for k in kp_ids))
        rows.append({
            "path_id": stable_id(discipline, number, kp_ids, version),
            "start_discipline": discipline, "path_index": number, "length": len(kp_ids), "kp_ids": kp_ids,
            "kp_names": [names.get(k, k) for k in kp_ids], "disciplines": crossed,
            "crosses_disciplines": len(crossed) > 1, "walk_params": params_json, "graph_version": version,
        })
    paths = pl.DataFrame(rows, schema={k: v for k, v in PATHS_SCHEMA.items()
                                       if k not in ("seed_ids", "seed_link_strength")})
    links = warehouse.query("all_seed_kp_links")
    paths = paths.join(linked_seeds(paths, links, settings.synthesis.max_seeds_per_path), on="path_id",
                       how="left").select(list(PATHS_SCHEMA))

    # coverage counters on the KP nodes: every stored path of the other disciplines plus ours
    totals = _visit_vector(warehouse, others, index)
    for path in result.paths if result else []:
        np.add.at(totals, path, 1)
    graph.run_batched("set_visits", [{"kp_id": kp, "visits": int(totals[i])} for kp, i in index.items()])
    unknown = paths.explode("kp_ids").filter(~pl.col("kp_ids").is_in(list(names))).height
    yield dg.Output(paths, metadata={
        **table_metadata(paths, preview_columns=["path_id", "length", "kp_names", "disciplines", "seed_ids"]),
        "quota": quota, "graph_nodes": csr.n_nodes, "graph_edges": csr.n_edges,
        "csr_cache": "hit" if transfer.cache_hit else "miss", "csr_read_seconds": round(transfer.read_seconds, 3),
        "csr_bytes": transfer.csr_bytes, "csr_neo4j_queries": transfer.queries,
        "peak_rss_mb": round(transfer.peak_rss_bytes / 2**20, 1),
        "walk_seconds": round(result.stats["walk_s"], 4) if result else 0.0,
        "walk_batch_size": result.batch_size if result else 0,
        "crossing_paths": int(paths.get_column("crosses_disciplines").sum() or 0),
        "mean_length": float(paths.get_column("length").mean() or 0.0),
        "walk_params": dg.MetadataValue.json(json.loads(params_json)),
    })
    yield dg.AssetCheckResult(check_name=CHECK_QUOTA_MET, passed=paths.height == quota,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"quota": quota, "paths": paths.height})
    yield dg.AssetCheckResult(check_name=CHECK_PATH_KPS_EXIST, passed=unknown == 0,
                              metadata={"unknown_kp_references": unknown})
