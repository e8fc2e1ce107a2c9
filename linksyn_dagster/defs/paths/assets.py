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
from linksyn_dagster.resources.settings import SettingsResource

CHECK_QUOTA_MET = "path_quota_met"
CHECK_PATH_KPS_EXIST = "path_kps_exist"
CSR_CACHE_DIR = "csr_cache"  # under the data dir: the KP graph as CSR arrays, one file per graph version

PATHS_SCHEMA = {
    "path_id": pl.Utf8, "start_discipline": pl.Utf8, "path_index": pl.Int32, "length": pl.Int32,
    "kp_ids": pl.List(pl.Utf8), "kp_names": pl.List(pl.Utf8), "disciplines": pl.List(pl.Utf8),
    "crosses_disciplines": pl.Boolean, "seed_ids": pl.List(pl.Utf8), "seed_link_strength": pl.List(pl.Int64),
    "walk_params": pl.Utf8, "graph_version": pl.Utf8,
}


def _visit_vector(warehouse: WarehouseResource, disciplines: list[str], nodes: pl.DataFrame) -> np.ndarray:
    """Visits per CSR node (``nodes``: kp_id, node in CSR order) by the stored paths that
    start in ``disciplines``."""
    visits = np.zeros(nodes.height, dtype=np.int64)
    if disciplines and warehouse.table_exists("kp_paths"):
        counts = warehouse.query("path_visits_from", disciplines=disciplines).join(nodes, on="kp_id")
        visits[counts.get_column("node").to_numpy()] = counts.get_column("visits").to_numpy()
    return visits


def _path_rows(result, csr, names: np.ndarray, discipline: str, version: str, params_json: str) -> pl.DataFrame:
    """The walked paths as rows (without their seeds): KP ids, names and disciplines by
    array indexing, not a dict lookup per KP."""
    lengths = np.diff(result.offsets) if result is not None else np.zeros(0, dtype=np.int64)
    if not lengths.size:
        return pl.DataFrame(schema={k: v for k, v in PATHS_SCHEMA.items() if k not in ("seed_ids", "seed_link_strength")})
    nodes = result.nodes
    steps = pl.DataFrame({
        "path_index": pl.Series(np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)),
        "kp_id": pl.Series(csr.node_ids[nodes], dtype=pl.Utf8),
        "kp_name": pl.Series(names[nodes], dtype=pl.Utf8),
        "primary": pl.Series(np.asarray(csr.discipline_names, dtype=object)[csr.discipline[nodes]], dtype=pl.Utf8),
    })
    steps = steps.with_columns(pl.col("kp_name").fill_null(pl.col("kp_id")))  # a KP without a name shows its id
    paths = steps.group_by("path_index", maintain_order=True).agg(
        pl.col("kp_id").alias("kp_ids"), pl.col("kp_name").alias("kp_names"),
        pl.col("primary").unique(maintain_order=True).alias("disciplines"))
    path_ids = [stable_id(discipline, number, kp_ids, version)
                for number, kp_ids in enumerate(paths.get_column("kp_ids").to_list())]
    return paths.select(
        pl.Series("path_id", path_ids, dtype=pl.Utf8), pl.lit(discipline).alias("start_discipline"), "path_index",
        pl.col("kp_ids").list.len().cast(pl.Int32).alias("length"), "kp_ids", "kp_names", "disciplines",
        (pl.col("disciplines").list.len() > 1).alias("crosses_disciplines"),
        pl.lit(params_json).alias("walk_params"), pl.lit(version).alias("graph_version"))


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
             warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
    """Walks that start in this discipline: P(i→j) ∝ w_ij^β · V(j), with V mixing KP
    popularity and a coverage term that decays with visits. The visits of the stored paths
    of the disciplines before this one (taxonomy order) are the starting counters, so walks
    favour what is still uncovered; after the walk, KP nodes in Neo4j get their `visits`
    (paths of all disciplines). The number of paths comes from the
    target discipline distribution; parameters are recorded with every path."""
    settings = settings.value
    walk = settings.walk
    discipline = context.partition_key

    # the graph as CSR arrays: streamed from Neo4j once per graph version, then from the cache
    csr, transfer = read_kp_graph_csr(graph, settings.data_dir / CSR_CACHE_DIR)
    version = transfer.version
    context.log.info(f"kp_paths: graph {version} ({csr.n_nodes} KPs, {csr.n_edges} edges) "
                     f"{'from the cache' if transfer.cache_hit else 'read from Neo4j'} in {transfer.read_seconds:.2f}s")
    nodes = pl.DataFrame({"kp_id": pl.Series(csr.node_ids, dtype=pl.Utf8)}).with_row_index("node")
    # Coverage carries over in taxonomy order: a walk starts from the visits of the stored
    # paths of the disciplines before its own, so the result does not depend on the order
    # partitions happen to run in, and re-materializing a partition reproduces its paths.
    order = list(DISCIPLINES)
    earlier = order[: order.index(discipline)] if discipline in order else []
    later = order[order.index(discipline) + 1:] if discipline in order else [d for d in order if d != discipline]
    visits = _visit_vector(warehouse, earlier, nodes)
    available = sorted(csr.discipline_names[c] for c in np.unique(csr.discipline))
    quotas = quotas_from_distribution(walk.paths_total, walk.target_distribution, available)
    quota = quotas.get(discipline, 0)
    params = WalkParams.from_settings(walk, random_seed=_partition_seed(walk.random_seed, discipline))
    result = walk_paths(csr, {discipline: quota}, params, visits) if quota else None

    # KP names in CSR node order (a join, not a dict of every KP)
    names = (nodes.join(knowledge_points.select("kp_id", "name"), on="kp_id", how="left")
             .sort("node").get_column("name").to_numpy())
    params_json = json.dumps({**walk.model_dump(), "random_seed": params.random_seed,
                              "quota": quota, "quotas": quotas}, sort_keys=True)
    paths = _path_rows(result, csr, names, discipline, version, params_json)
    # only the links of the KPs on these paths, not the whole link table
    path_kps = paths.select(pl.col("kp_ids").explode().alias("kp_id")).unique()
    links = warehouse.query("seed_kp_links_of", frames={"wanted_kps": path_kps})
    paths = paths.join(linked_seeds(paths, links, settings.synthesis.max_seeds_per_path), on="path_id",
                       how="left").select(list(PATHS_SCHEMA))

    # coverage counters on the KP nodes: every stored path of the other disciplines plus
    # ours. Only this partition's paths change between runs, so only the counters of KPs
    # on its new paths or on its previous ones (which may drop, to 0) are written: the
    # rest already hold the totals the runs that last touched them wrote. Writing every
    # KP in each of the 22 runs grew with the graph (418k KPs at 1M seeds), not the paths.
    # KPs no stored path ever visited keep no counter (readers use coalesce(visits, 0)).
    totals = visits + _visit_vector(warehouse, later, nodes)
    ours = np.bincount(result.nodes, minlength=totals.size) if result is not None else np.zeros_like(totals)
    totals += ours
    previous = _visit_vector(warehouse, [discipline], nodes)
    changed = np.flatnonzero((ours > 0) | (previous > 0))
    graph.run_batched("set_visits", ({"kp_id": kp, "visits": int(v)} for kp, v in zip(
        csr.node_ids[changed].tolist(), totals[changed].tolist(), strict=True)))
    unknown = path_kps.join(knowledge_points.select("kp_id"), on="kp_id", how="anti").height
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
