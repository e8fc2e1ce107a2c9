"""The walks on the KP graph: ``walk_plan`` walks every start discipline in one pass with one
coverage state; ``kp_paths`` is one start discipline's slice of it."""


import dataclasses
import json
from typing import Iterator, Optional

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from linksyn_dagster.core.control import items_for_tokens
from linksyn_dagster.core.csr_delta import GraphChanges
from linksyn_dagster.core.difficulty import assign_levels, mix_for
from linksyn_dagster.core.tokens import qa_tokens
from linksyn_dagster.core.linking import linked_seeds
from linksyn_dagster.core.metrics import gini
from linksyn_dagster.core.prompting import stable_id
from linksyn_dagster.core.quotas import plan_asks, plan_params, plan_quotas, quotas_from_distribution
from linksyn_dagster.core.walker import WalkParams, walk_paths
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import side_table_materialization, side_table_spec, table_metadata
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.graph_csr import read_kp_graph_csr
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.settings import SettingsResource
from linksyn_dagster.defs.automation import runs_after
from linksyn_dagster.estimate import ESTIMATE_SCHEMA, estimate_frame, estimate_run, history_from, pricing

CHECK_QUOTA_MET = "path_quota_met"
CHECK_QUOTAS_MET = "path_quotas_met"
CHECK_PATH_KPS_EXIST = "path_kps_exist"
CSR_CACHE_DIR = "csr_cache"  # under the data dir: the KP graph as CSR arrays, one file per graph version
RUN_ESTIMATE = "run_estimate"

PATHS_SCHEMA = {
    "path_id": pl.Utf8, "start_discipline": pl.Utf8, "path_index": pl.Int32, "length": pl.Int32,
    "kp_ids": pl.List(pl.Utf8), "kp_names": pl.List(pl.Utf8), "disciplines": pl.List(pl.Utf8),
    "crosses_disciplines": pl.Boolean, "seed_ids": pl.List(pl.Utf8), "seed_link_strength": pl.List(pl.Int64),
    "target_difficulty": pl.Int32, "round": pl.Int32,
    "walk_params": pl.Utf8, "graph_version": pl.Utf8,
}


run_estimate = side_table_spec(
    RUN_ESTIMATE, "The LLM calls, tokens and cost per stage the run was expected to need (`linksyn estimate`), "
    "made before any path's call: from the settings, the seeds in seed_qa and this data dir's earlier runs "
    "(llm_usage, kp_paths), or the stated defaults without them. Written by walk_plan, whole, with a plan's "
    "first round; its further rounds keep it (it counts their growth). distribution_report sets it against "
    "llm_usage.", columns.RUN_ESTIMATE, ESTIMATE_SCHEMA, written_by="walk_plan", group_name="paths",
    deps=[dg.AssetDep("seed_qa", partition_mapping=dg.AllPartitionMapping())])


class WalkPlanConfig(dg.Config):
    """Per-run knobs of the walk plan (the launchpad shows them); unset = the settings'."""

    paths_total: Optional[int] = Field(
        default=None, ge=0, description="paths in all for this run, split over start disciplines by the target "
        "distribution; unset = LINKSYN_WALK__PATHS_TOTAL")
    rounds: list[dict[str, dict[str, int]]] = Field(
        default_factory=list, description="the paths of each further round, per start discipline and difficulty "
        "level ({discipline: {level: paths}}): the shortfall of the release's cells, which `linksyn run` computes "
        "from the release (see core/control.py). Each round walks on from the visits of the rounds before it, so "
        "earlier paths, and their LLM answers, stay as they were")
    max_rounds: Optional[int] = Field(
        default=None, ge=0, le=20, description="further rounds, at most, for the cells the release misses (0 = the "
        "first round only): next_round_sensor walks no round past it and carries it into the rounds it launches, "
        "and the release's why_short names it; recorded in walk_params. unset = LINKSYN_RELEASE__MAX_ROUNDS")


def _visits_per_node(counts: pl.DataFrame | None, nodes: pl.DataFrame) -> np.ndarray:
    """``counts`` (kp_id, visits) as an array over the CSR nodes (``nodes``: kp_id, node in
    CSR order); zeros for KPs it does not hold, or without counts."""
    visits = np.zeros(nodes.height, dtype=np.int64)
    if counts is not None and counts.height:
        counts = counts.join(nodes, on="kp_id")
        visits[counts.get_column("node").to_numpy()] = counts.get_column("visits").to_numpy()
    return visits


def _plan_visits(warehouse: WarehouseResource, nodes: pl.DataFrame) -> np.ndarray:
    """Visits per CSR node by the paths of the stored walk plan (zeros before the first plan)."""
    return _visits_per_node(warehouse.query("plan_visits") if warehouse.table_exists("walk_plan") else None, nodes)


ROW_SCHEMA = {k: v for k, v in PATHS_SCHEMA.items() if k not in ("seed_ids", "seed_link_strength", "target_difficulty")}
# walk settings that may change without dropping the kept paths (every other one must match)
_WALK_KEYS_KEPT_ACROSS = {"paths_total"}


def _kept_paths(warehouse: WarehouseResource, node_ids: np.ndarray, version: str, walk) -> pl.DataFrame:
    """The paths an extended plan keeps when the graph has grown: the stored plan's paths
    walked on an earlier graph version, with the same walk settings, whose KPs are all still
    in the graph. Their ids, seeds and levels stay, so their LLM answers are never asked
    again; empty before the first plan, or when the walk settings changed."""
    if not warehouse.table_exists("walk_plan"):
        return pl.DataFrame(schema=PATHS_SCHEMA)
    earlier = warehouse.query("plan_paths_of_other_versions", version=version)
    if not earlier.height:
        return earlier.select(list(PATHS_SCHEMA))
    walked_with = json.loads(earlier.get_column("walk_params")[0])
    now = walk.model_dump(mode="json")
    if any(walked_with.get(key) != value for key, value in now.items() if key not in _WALK_KEYS_KEPT_ACROSS):
        return earlier.clear().select(list(PATHS_SCHEMA))
    known = pl.DataFrame({"kp_id": pl.Series(node_ids, dtype=pl.Utf8)})
    gone = (earlier.select("path_id", pl.col("kp_ids").alias("kp_id")).explode("kp_id")
            .join(known, on="kp_id", how="anti").get_column("path_id").unique().to_list())
    return earlier.filter(~pl.col("path_id").is_in(gone)).select(list(PATHS_SCHEMA))


def _path_rows(result, csr, names: np.ndarray, version: str, params_json: str, round_number: int = 0,
               first_index: dict[str, int] | None = None) -> pl.DataFrame:
    """The walked paths as rows (without their seeds or levels): KP ids, names and
    disciplines by array indexing, not a dict lookup per KP. ``path_index`` counts each start
    discipline's paths in walk order, from ``first_index[discipline]`` (the paths of earlier
    rounds)."""
    lengths = np.diff(result.offsets) if result is not None else np.zeros(0, dtype=np.int64)
    if not lengths.size:
        return pl.DataFrame(schema=ROW_SCHEMA)
    nodes = result.nodes
    steps = pl.DataFrame({
        "path": pl.Series(np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)),
        "kp_id": pl.Series(csr.node_ids[nodes], dtype=pl.Utf8),
        "kp_name": pl.Series(names[nodes], dtype=pl.Utf8),
        "primary": pl.Series(np.asarray(csr.discipline_names, dtype=object)[csr.discipline[nodes]], dtype=pl.Utf8),
    })
    steps = steps.with_columns(pl.col("kp_name").fill_null(pl.col("kp_id")))  # a KP without a name shows its id
    paths = steps.group_by("path", maintain_order=True).agg(
        pl.col("kp_id").alias("kp_ids"), pl.col("kp_name").alias("kp_names"),
        pl.col("primary").unique(maintain_order=True).alias("disciplines"))
    starts = np.asarray(result.start_names, dtype=object)[result.start_codes]
    offset = pl.col("start_discipline").replace_strict(first_index or {}, default=0, return_dtype=pl.Int32)
    paths = paths.with_columns(pl.Series("start_discipline", starts, dtype=pl.Utf8)).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int32).over("start_discipline") + offset).alias("path_index"))
    path_ids = [stable_id(discipline, number, kp_ids, version) for discipline, number, kp_ids in
                paths.select("start_discipline", "path_index", "kp_ids").iter_rows()]
    return paths.select(
        pl.Series("path_id", path_ids, dtype=pl.Utf8), "start_discipline", "path_index",
        pl.col("kp_ids").list.len().cast(pl.Int32).alias("length"), "kp_ids", "kp_names", "disciplines",
        (pl.col("disciplines").list.len() > 1).alias("crosses_disciplines"),
        pl.lit(round_number, dtype=pl.Int32).alias("round"),
        pl.lit(params_json).alias("walk_params"), pl.lit(version).alias("graph_version"))


def _target_levels(paths: pl.DataFrame, synthesis, rounds: list[dict[str, dict[str, int]]],
                   kept: pl.DataFrame) -> pl.DataFrame:
    """The difficulty level each path's item is asked for (``path_id``, ``target_difficulty``):
    per start discipline, in walk order, so that every prefix of its paths follows its mix
    (first round) or its round's request (later rounds). The paths ``kept`` from an earlier
    plan keep their levels, and the first round's new paths continue from them. Null levels
    when difficulty is not steered."""
    frames = [kept.select("path_id", "target_difficulty")]
    new = paths.filter(~pl.col("path_id").is_in(kept.get_column("path_id").to_list()))
    for (discipline, number), group in new.sort("round", "path_index").group_by(
            "start_discipline", "round", maintain_order=True):
        if not synthesis.steer_difficulty:
            levels = [None] * group.height
        elif number == 0:
            given = kept.filter(pl.col("start_discipline") == discipline).get_column("target_difficulty")
            levels = assign_levels(group.height, mix_for(discipline, synthesis.difficulty_mix,
                                                         synthesis.difficulty_mix_by_discipline),
                                   start=dict(given.drop_nulls().value_counts().iter_rows()))
        else:  # the request's counts, interleaved (a path the walk could not start has no level to fill)
            request = {int(level): n for level, n in rounds[number - 1].get(discipline, {}).items() if n > 0}
            levels = assign_levels(group.height, {level: n / sum(request.values()) for level, n in request.items()})
        frames.append(pl.DataFrame({"path_id": group.get_column("path_id"),
                                    "target_difficulty": pl.Series(levels, dtype=pl.Int32)}))
    return pl.concat(frames)


def walk_graph_changes(warehouse: WarehouseResource) -> GraphChanges | None:
    """What the last run of knowledge_points changed in the walk graph (``kp_changes``), with
    the new values of the KPs it names: the walk plan makes the new graph from the cached one
    of the state before with these, instead of reading all of it from Neo4j again."""
    if not warehouse.table_exists("kp_changes"):
        return None
    changes = warehouse.query("kp_changes_all")
    if not changes.height:
        return None
    first = changes.row(0, named=True)
    kps, edges = (changes.filter(pl.col("kind") == kind) for kind in ("kp", "edge"))
    named = kps.filter(pl.col("change") != "gone").select("kp_id")
    nodes = warehouse.query("walk_nodes_of", frames={"wanted_kps": named})
    ends = [pl.col("kp_id").alias("kp_a"), "kp_b"]
    return GraphChanges(
        from_state=first["from_state"], to_state=first["to_state"], nodes=nodes,
        nodes_gone=kps.filter(pl.col("change") == "gone").get_column("kp_id"),
        edges=edges.filter(pl.col("change") != "gone").select(*ends, "weight"),
        edges_gone=edges.filter(pl.col("change") == "gone").select(*ends))


def _estimate(settings, walk, max_rounds: int, paths_given: bool, warehouse: WarehouseResource,
              llm: LLMResource) -> pl.DataFrame:
    """``run_estimate``'s rows for the plan about to be walked (``walk``: its paths, ``max_rounds``:
    its round limit; ``paths_given``: the run config set its paths, not the token budget):
    the seeds of seed_qa, their mean size, and the history in the warehouse before this plan."""
    release = settings.release.model_copy(update={"max_rounds": max_rounds, **(
        {"target_tokens": None} if paths_given else {})})
    planned = settings.model_copy(update={"walk": walk, "release": release, "llm": llm.llm_settings})
    sample = warehouse.query("seed_token_sample") if release.target_tokens else None
    with warehouse.get_connection() as conn:
        history = history_from(conn)
    estimate = estimate_run(planned, int(warehouse.query("seed_count").item()),
                            float(qa_tokens(sample).mean()) if sample is not None and sample.height else None,
                            history, pricing(planned))
    return estimate_frame(estimate)


@dg.asset(
    kinds={"neo4j", "duckdb", "polars"},
    group_name="paths",
    deps=["kp_graph", "seed_kp_links"],
    ins={"knowledge_points": dg.AssetIn(metadata={"columns": ["kp_id", "name"]})},  # not every KP's aliases
    automation_condition=runs_after("kp_graph"),
    check_specs=[
        dg.AssetCheckSpec(CHECK_QUOTAS_MET, asset="walk_plan",
                          description="every start discipline got its quota of paths (if the graph allows)"),
        dg.AssetCheckSpec(CHECK_PATH_KPS_EXIST, asset="walk_plan", description="every path KP is a known KP"),
    ],
)
def walk_plan(context: dg.AssetExecutionContext, config: WalkPlanConfig, knowledge_points: pl.DataFrame,
              graph: Neo4jResource, warehouse: WarehouseResource, settings: SettingsResource,
              llm: LLMResource) -> Iterator:
    """Every walk of the run, for all start disciplines in one pass: P(i→j) ∝ w_ij^β · V(j),
    with V mixing KP popularity and a coverage term that decays with the visits of every
    path walked so far, whichever discipline it started in (interleaved schedule). Each
    start discipline's number of paths comes from the target distribution. The seeds pulled
    along each path are drawn among its KPs' seeds, preferring those pulled least so far.
    Each path gets the difficulty level its item is asked for, so that every start
    discipline's items fill its difficulty mix. Further rounds (run config `rounds`, the
    release's `next_round_request`s) are walked after the first, each on from the visits
    of the rounds before it with its own random stream, with the levels it asks for: the
    paths, seeds and levels of earlier rounds never change. The plan records its round
    limit (run config `max_rounds`, else the setting): the release and next_round_sensor
    read it from there.
    The plan depends only on the graph version, the walk and synthesis settings and, once the
    graph has grown, the paths it keeps: when the stored plan was walked on an earlier graph
    version with the same walk settings, its paths whose KPs all still exist are kept (ids,
    seeds, levels; their LLM answers are never asked again) and new walks start from their
    coverage to fill the quotas. It writes the `visits` counters of the KP nodes in Neo4j,
    and the per-discipline `kp_paths` partitions read their slice of it.
    A first round (no run config `rounds`) also estimates the run's LLM calls, tokens and cost
    per stage, as `linksyn estimate` does, before any path's call, into `run_estimate` (the
    LLM resource is read for its model and prices only); the report sets it against the
    calls made."""
    settings = settings.value
    walk = settings.walk
    # the round limit is the plan's: the sensor and the release read it back from walk_params
    max_rounds = settings.release.max_rounds if config.max_rounds is None else config.max_rounds
    if config.paths_total is not None:  # downstream reads the quotas from the plan, so all follow
        walk = walk.model_copy(update={"paths_total": config.paths_total})
    elif settings.release.target_tokens:  # a token budget: a path per item it takes at the seeds' size
        sample, release = warehouse.query("seed_token_sample"), settings.release
        if sample.height:  # (a share of them when rounds follow: they walk what the release still misses)
            share = release.first_round_share if release.fill_cells and max_rounds else 1.0
            walk = walk.model_copy(update={"paths_total": max(1, round(share * items_for_tokens(
                release.target_tokens, float(qa_tokens(sample).mean()))))})
    # the run's estimate, before any path's call, from the history before this plan; a further
    # round keeps the first round's (which counted the growth by rounds), so it is never made
    # on the calls it is set against
    estimate = None if config.rounds else _estimate(settings, walk, max_rounds, config.paths_total is not None,
                                                    warehouse, llm)

    # the graph as CSR arrays: streamed from Neo4j once per graph version, then from the cache
    csr, transfer = read_kp_graph_csr(graph, settings.data_dir / CSR_CACHE_DIR,
                                      changes=lambda: walk_graph_changes(warehouse))
    version = transfer.version
    how = ("from the cache" if transfer.cache_hit else "made from the cached graph and kp_changes" if transfer.patched
           else "read from Neo4j")
    context.log.info(f"walk_plan: graph {version} ({csr.n_nodes} KPs, {csr.n_edges} edges) {how} "
                     f"in {transfer.read_seconds:.2f}s")
    nodes = pl.DataFrame({"kp_id": pl.Series(csr.node_ids, dtype=pl.Utf8)}).with_row_index("node")
    available = sorted(csr.discipline_names[c] for c in np.unique(csr.discipline))
    quotas = quotas_from_distribution(walk.paths_total, walk.target_distribution, available)
    params = WalkParams.from_settings(walk)
    plan = {**walk.model_dump(), "quotas": quotas, "available": available, "rounds": config.rounds,
            "max_rounds": max_rounds}
    params_json = json.dumps(plan, sort_keys=True)
    # KP names in CSR node order (a join, not a dict of every KP)
    names = (nodes.join(knowledge_points.select("kp_id", "name"), on="kp_id", how="left")
             .sort("node").get_column("name").to_numpy())

    # the graph grew since the stored plan: its paths whose KPs are all still here are kept, as
    # the first round's base; new walks start from their coverage and fill the quotas
    kept = _kept_paths(warehouse, csr.node_ids, version, walk).with_columns(
        pl.lit(0, dtype=pl.Int32).alias("round"), pl.lit(params_json).alias("walk_params"))
    visits = _visits_per_node(
        kept.select(pl.col("kp_ids").explode().alias("kp_id")).group_by("kp_id").len(name="visits"), nodes)
    base = dict(kept.group_by("start_discipline").len().iter_rows())
    # round 0 walks the quotas; each further round walks its request on from the visits of the
    # rounds before it, with its own random stream, so earlier rounds' paths never change
    frames, walk_seconds, batch_size = ([kept.select(list(ROW_SCHEMA))] if kept.height else []), 0.0, 0
    first, *further = plan_asks(plan)
    for number, round_quotas in enumerate([{d: max(0, q - base.get(d, 0)) for d, q in first.items()},
                                           *({d: n for d, n in ask.items() if d in available} for ask in further)]):
        if not sum(round_quotas.values()):
            continue
        first_index = {d: n + 1 for d, n in pl.concat(frames).group_by("start_discipline")
                       .agg(pl.col("path_index").max()).iter_rows()} if frames else {}
        result = walk_paths(csr, round_quotas, dataclasses.replace(params, random_seed=params.random_seed + number),
                            visits=visits)
        visits, walk_seconds, batch_size = result.visits, walk_seconds + result.stats["walk_s"], result.batch_size
        frames.append(_path_rows(result, csr, names, version, params_json, number, first_index))
    paths = pl.concat(frames) if frames else _path_rows(None, csr, names, version, params_json)
    del frames, names
    # only the links of the KPs on these paths, not the whole link table
    path_kps = paths.select(pl.col("kp_ids").explode().alias("kp_id")).unique()
    links = warehouse.query("seed_kp_links_of", frames={"wanted_kps": path_kps})
    # in walk order, so seed use is spread over the whole plan (see core/linking.py)
    paths = paths.join(linked_seeds(paths, links, settings.synthesis.max_seeds_per_path, random_seed=walk.random_seed),
                       on="path_id", how="left")
    del links
    if kept.height:  # a kept path keeps the seeds its item was written from
        stored = kept.select("path_id", pl.col("seed_ids").alias("kept_seeds"),
                             pl.col("seed_link_strength").alias("kept_strength"), pl.lit(True).alias("is_kept"))
        paths = paths.join(stored, on="path_id", how="left").with_columns(
            pl.when(pl.col("is_kept")).then(pl.col("kept_seeds")).otherwise(pl.col("seed_ids")).alias("seed_ids"),
            pl.when(pl.col("is_kept")).then(pl.col("kept_strength")).otherwise(pl.col("seed_link_strength"))
            .alias("seed_link_strength")).drop("kept_seeds", "kept_strength", "is_kept")
        del stored
    paths = paths.join(_target_levels(paths, settings.synthesis, config.rounds, kept), on="path_id",
                       how="left").select(list(PATHS_SCHEMA))
    kept_versions = sorted(set(kept.get_column("graph_version").to_list()))
    del kept  # the plan's copies let go before its rows are written (at 1M seeds 250k paths each)
    seed_use = paths.select(pl.col("seed_ids").explode().drop_nulls()).get_column("seed_ids").value_counts()

    # coverage counters on the KP nodes: the visits of this plan. Only KPs on its paths or on
    # the previous plan's (whose counters may drop, to 0) are written; KPs no path visits
    # keep no counter (readers use coalesce(visits, 0)).
    changed = np.flatnonzero((visits > 0) | (_plan_visits(warehouse, nodes) > 0))
    graph.run_batched("set_visits", ({"kp_id": kp, "visits": int(v)} for kp, v in zip(
        csr.node_ids[changed].tolist(), visits[changed].tolist(), strict=True)))
    unknown = path_kps.join(knowledge_points.select("kp_id"), on="kp_id", how="anti").height
    walked = dict(paths.group_by("start_discipline").len().iter_rows())
    wanted = plan_quotas(plan, with_rounds=True) if paths.height else quotas
    short = {d: f"{walked.get(d, 0)}/{q}" for d, q in wanted.items() if walked.get(d, 0) < q}
    if estimate is not None:
        warehouse.replace(RUN_ESTIMATE, estimate)
    yield dg.Output(paths, metadata={
        **table_metadata(paths, columns.PATHS, ["path_id", "start_discipline", "length", "kp_names", "seed_ids"]),
        "quotas": dg.MetadataValue.json(quotas), "graph_nodes": csr.n_nodes, "graph_edges": csr.n_edges,
        "csr_cache": "hit" if transfer.cache_hit else "patched" if transfer.patched else "miss",
        "csr_read_seconds": round(transfer.read_seconds, 3),
        "csr_bytes": transfer.csr_bytes, "csr_neo4j_queries": transfer.queries,
        "peak_rss_mb": round(transfer.peak_rss_bytes / 2**20, 1),
        "walk_seconds": round(walk_seconds, 4), "walk_batch_size": batch_size,
        "rounds": len(config.rounds),
        "kept_paths": sum(base.values()),  # from the plan on an earlier graph version (see _kept_paths)
        "kept_from_graph_versions": dg.MetadataValue.json(kept_versions),
        "paths_per_round": dg.MetadataValue.json(dict(paths.group_by("round").len().sort("round")
                                                      .select(pl.col("round").cast(pl.Utf8), "len").iter_rows())),
        "crossing_paths": int(paths.get_column("crosses_disciplines").sum() or 0),
        "mean_length": float(paths.get_column("length").mean() or 0.0),
        "visited_kps": int(np.count_nonzero(visits)),
        "seeds_pulled": seed_use.height,
        "seed_use_max": int(seed_use.get_column("count").max() or 0),
        "seed_use_gini": round(gini(seed_use.get_column("count").to_numpy()), 4),
        "walk_params": dg.MetadataValue.json(json.loads(params_json)),
        **({"estimated_llm_calls": int(estimate.get_column("calls").sum()),
            "llm_estimate": dg.MetadataValue.json({row.pop("stage"): row for row in estimate.select(
                "stage", "calls", "prompt_tokens", "completion_tokens", "cost_usd").to_dicts()})}
           if estimate is not None else {}),
    })
    if estimate is not None:
        yield side_table_materialization(RUN_ESTIMATE, estimate, columns.RUN_ESTIMATE)
    yield dg.AssetCheckResult(check_name=CHECK_QUOTAS_MET, passed=not short, severity=dg.AssetCheckSeverity.WARN,
                              metadata={"short_of_quota": dg.MetadataValue.json(short)})
    yield dg.AssetCheckResult(check_name=CHECK_PATH_KPS_EXIST, passed=unknown == 0,
                              metadata={"unknown_kp_references": unknown})


@dg.asset(
    partitions_def=discipline_partitions,
    metadata={"partition_expr": "start_discipline"},
    kinds={"duckdb", "polars"},
    group_name="paths",
    automation_condition=runs_after("walk_plan"),
    ins={"walk_plan": dg.AssetIn(metadata={"slice_by": "start_discipline"})},  # its discipline's rows only
    check_specs=[dg.AssetCheckSpec(CHECK_QUOTA_MET, asset="kp_paths",
                                   description="the partition holds exactly its quota of paths (if the graph allows)")],
)
def kp_paths(context: dg.AssetExecutionContext, walk_plan: pl.DataFrame, warehouse: WarehouseResource) -> Iterator:
    """The paths of the walk plan that start in this discipline, with the seeds linked along
    each. Every partition reads the same plan (its own rows of it, and the plan's quotas), so
    partitions run in any order, at once or again, with the same result."""
    discipline = context.partition_key
    paths = walk_plan.filter(pl.col("start_discipline") == discipline).sort("path_index")
    # the quota from the whole plan's parameters: a discipline the graph gave no path still has one
    quota = plan_quotas(plan_params(warehouse.query("walk_plan_params")), with_rounds=True).get(discipline, 0)
    yield dg.Output(paths, metadata={
        **table_metadata(paths, columns.PATHS, ["path_id", "length", "kp_names", "disciplines", "seed_ids"]),
        "quota": quota,
        "crossing_paths": int(paths.get_column("crosses_disciplines").sum() or 0),
        "mean_length": float(paths.get_column("length").mean() or 0.0),
    })
    yield dg.AssetCheckResult(check_name=CHECK_QUOTA_MET, passed=paths.height == quota,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"quota": quota, "paths": paths.height})
