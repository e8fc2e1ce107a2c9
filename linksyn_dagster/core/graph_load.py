"""Planning a load of the KP graph into Neo4j: what to write, and in what order.

``diff`` compares the graph DuckDB holds now with the state last written to Neo4j (kept in
DuckDB as a :class:`GraphState`) and returns a :class:`GraphDelta` of creates, updates and
deletes, so an incremental load costs time in proportion to what changed, not to the
graph. Against no state (a first or a repaired load) everything is a create.

``lock_free_rounds`` orders relationship writes for parallel writers. Creating a
relationship locks both its end nodes, so two transactions touching the same hub KP wait
on each other (or deadlock and retry). Nodes are hashed into buckets; each relationship
falls into the cell (bucket of one end, bucket of the other); cells are grouped into rounds
in which no two cells share a bucket, so the writers of one round never touch the same node
(Neo4j may still lock a shared neighbouring relationship record: see graph_loader.py).

Pure polars/numpy: no Neo4j here (``resources/graph_loader.py`` executes the plan).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

__all__ = ["KP_COLUMNS", "SEED_COLUMNS", "GraphTables", "GraphState", "GraphDelta", "delta_of_changes", "diff",
           "state_of", "graph_sums", "graph_version", "lock_free_rounds", "node_buckets", "version_of"]

KP_COLUMNS = ["kp_id", "name", "frequency", "disciplines", "primary_discipline", "aliases"]
SEED_COLUMNS = ["seed_id", "discipline", "subject", "language", "question"]
_HASH_SEED = 20261125


def graph_version(kps: pl.DataFrame, links: pl.DataFrame, edges: pl.DataFrame, seeds: pl.DataFrame) -> str:
    """A content hash of everything the graph holds (and nothing else: not when a KP was
    first extracted): equal graphs give an equal version, so an unchanged graph is not
    written again, and paths (whose ids carry the version) are reproducible."""
    return version_of(graph_sums(kps, links, edges, seeds))


Sums = list[tuple[int, int]]  # per table (kps, links, edges, seeds): sum of row hashes mod 2**64, rows


def _sum(frame: pl.DataFrame) -> int:
    return int(frame.hash_rows(seed=7).sum()) if frame.height else 0


def graph_sums(kps: pl.DataFrame, links: pl.DataFrame, edges: pl.DataFrame, seeds: pl.DataFrame) -> Sums:
    """What the version is made of: a sum of row hashes per table (row order is not
    content), which moves by the rows added and removed, so an increment need not hash the
    whole graph to know its version."""
    return [(_sum(frame), frame.height) for frame in (kps.select(KP_COLUMNS), links, edges, seeds)]


def version_of(sums: Sums) -> str:
    digest = hashlib.sha256()
    for total, height in sums:
        digest.update(str(total).encode())
        digest.update(str(height).encode())
    return digest.hexdigest()[:16]


def _moved(sum_height: tuple[int, int], added: pl.DataFrame, removed: pl.DataFrame) -> tuple[int, int]:
    total, height = sum_height
    return (total + _sum(added) - _sum(removed)) % 2**64, height + added.height - removed.height


def delta_of_changes(changes: pl.DataFrame, kps: pl.DataFrame, seed_rows: pl.DataFrame, sums: Sums,
                     ) -> tuple[GraphDelta, Sums]:
    """The writes that bring a graph holding the knowledge state the ``changes`` start from
    (the rows of kp_changes, ``core/kp_increment.CHANGE_SCHEMA``) to the state they lead
    to, and the new version sums from ``sums``, the old ones: no diff of the whole graph.
    ``kps`` is the whole new knowledge_points table (small beside the links and edges: its
    sum is taken whole), ``seed_rows`` the seed_qa rows (SEED_COLUMNS) of the seeds the
    changes name."""
    def of(kind: str, change: str | tuple[str, ...]) -> pl.DataFrame:
        wanted = (change,) if isinstance(change, str) else change
        return changes.filter((pl.col("kind") == kind) & pl.col("change").is_in(wanted))

    kps = kps.select(KP_COLUMNS)
    kps_new = kps.join(of("kp", "new").select("kp_id"), on="kp_id", how="semi")
    kps_changed = kps.join(of("kp", "changed").select("kp_id"), on="kp_id", how="semi")
    kp_frequencies = kps.join(of("kp", "frequency").select("kp_id"), on="kp_id", how="semi").select(
        "kp_id", "frequency")
    kps_gone = of("kp", "gone").select("kp_id")
    wanted = _discipline_pairs(pl.concat([kps_new, kps_changed]))
    had = _discipline_pairs(of("kp", "changed").select("kp_id", pl.col("disciplines").fill_null([])))
    seeds = seed_rows.select(SEED_COLUMNS)
    seeds_new = seeds.join(of("seed", "new").select("seed_id"), on="seed_id", how="semi")
    seeds_gone = seeds.join(of("seed", "gone").select("seed_id"), on="seed_id", how="semi")
    links_new, links_gone = (of("link", c).select("seed_id", "kp_id") for c in ("new", "gone"))
    edge = [pl.col("kp_id").alias("kp_a"), "kp_b"]
    edges_new = of("edge", "new").select(*edge, "weight")
    edges_changed = of("edge", "changed").select(*edge, "weight")
    edges_before = of("edge", ("changed", "gone")).select(*edge, pl.col("old_weight").alias("weight"))
    delta = GraphDelta(kps_new=kps_new, kps_changed=kps_changed, kp_frequencies=kp_frequencies, kps_gone=kps_gone,
                       kp_disciplines=wanted.join(had, on=["kp_id", "discipline"], how="anti"),
                       kp_disciplines_gone=had.join(wanted, on=["kp_id", "discipline"], how="anti"),
                       seeds_new=seeds_new, seeds_changed=seeds_new.clear(), seeds_gone=seeds_gone.select("seed_id"),
                       links_new=links_new, links_gone=links_gone, edges_new=edges_new, edges_changed=edges_changed,
                       edges_gone=of("edge", "gone").select(*edge))
    moved = [(_sum(kps), kps.height), _moved(sums[1], links_new, links_gone),
             _moved(sums[2], pl.concat([edges_new, edges_changed]), edges_before),
             _moved(sums[3], seeds_new, seeds_gone)]
    return delta, moved


@dataclass(frozen=True)
class GraphTables:
    """Everything the graph holds, as DuckDB has it: KP and seed nodes, HAS_KP links
    (seed_id, kp_id) and CO_OCCURS edges (kp_a < kp_b, weight)."""

    kps: pl.DataFrame
    seeds: pl.DataFrame
    links: pl.DataFrame
    edges: pl.DataFrame

    def __post_init__(self) -> None:
        for name, frame, columns in (("kps", self.kps, KP_COLUMNS), ("seeds", self.seeds, SEED_COLUMNS),
                                     ("links", self.links, ["seed_id", "kp_id"]),
                                     ("edges", self.edges, ["kp_a", "kp_b", "weight"])):
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"GraphTables.{name}: missing columns {missing}")
        object.__setattr__(self, "kps", self.kps.select(KP_COLUMNS))
        object.__setattr__(self, "seeds", self.seeds.select(SEED_COLUMNS))
        object.__setattr__(self, "links", self.links.select("seed_id", "kp_id"))
        object.__setattr__(self, "edges", self.edges.select("kp_a", "kp_b", pl.col("weight").cast(pl.Int64)))


@dataclass(frozen=True)
class GraphState:
    """What a load left in Neo4j, compactly: node keys with a hash of their properties, the
    relationships, and for each relationship two independent 64-bit hashes of its keys
    (``_h``, ``_g``), so the next diff joins numbers instead of strings."""

    kps: pl.DataFrame  # kp_id, h (properties but frequency), frequency, disciplines (its IN_DISCIPLINE links)
    seeds: pl.DataFrame  # seed_id, h
    links: pl.DataFrame  # seed_id, kp_id, _h, _g
    edges: pl.DataFrame  # kp_a, kp_b, weight, _h, _g


_LINK_KEYS = ["seed_id", "kp_id"]
_EDGE_KEYS = ["kp_a", "kp_b"]


def _key_hashes(keys: list[str]) -> list[pl.Expr]:
    return [pl.struct(keys).hash(_HASH_SEED).alias("_h"), pl.struct(keys).hash(_HASH_SEED + 1).alias("_g")]


def state_of(tables: GraphTables) -> GraphState:
    """The state a load of ``tables`` leaves (rows in the tables' order)."""
    kps = tables.kps.select("kp_id", tables.kps.drop("frequency").hash_rows(seed=_HASH_SEED).alias("h"),
                            "frequency", "disciplines")
    seeds = tables.seeds.select("seed_id", tables.seeds.hash_rows(seed=_HASH_SEED).alias("h"))
    return GraphState(kps=kps, seeds=seeds, links=tables.links.with_columns(_key_hashes(_LINK_KEYS)),
                      edges=tables.edges.with_columns(_key_hashes(_EDGE_KEYS)))


@dataclass(frozen=True)
class GraphDelta:
    """The writes that turn the old state into the new one. ``*_new`` are absent from Neo4j
    (CREATE), ``*_changed`` are present with other properties (SET), ``*_gone`` are keys to
    delete. KPs whose only change is their frequency (most of them, as seeds are added) are
    in ``kp_frequencies``, a cheaper SET. IN_DISCIPLINE links (kp_id, discipline) follow the
    KPs' ``disciplines`` lists; those of deleted KPs go with their nodes."""

    kps_new: pl.DataFrame
    kps_changed: pl.DataFrame
    kp_frequencies: pl.DataFrame  # kp_id, frequency
    kps_gone: pl.DataFrame  # kp_id
    kp_disciplines: pl.DataFrame  # kp_id, discipline: IN_DISCIPLINE links to create
    kp_disciplines_gone: pl.DataFrame  # kp_id, discipline: IN_DISCIPLINE links to delete
    seeds_new: pl.DataFrame
    seeds_changed: pl.DataFrame
    seeds_gone: pl.DataFrame  # seed_id
    links_new: pl.DataFrame
    links_gone: pl.DataFrame
    edges_new: pl.DataFrame
    edges_changed: pl.DataFrame  # kp_a, kp_b, weight (the new weight)
    edges_gone: pl.DataFrame  # kp_a, kp_b

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name).height for f in fields(self)}

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())


def _nodes(new: pl.DataFrame, ours: pl.DataFrame, theirs: pl.DataFrame, key: str,
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(created, changed, frequency-only changed, gone keys) of node rows; ``ours`` and
    ``theirs`` are the new and old states' node frames (``ours`` in ``new``'s row order)."""
    both = "frequency" in theirs.columns
    extra = [pl.col("frequency").alias("_f")] if both else []
    matched = ours.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), key, "h", *extra).join(
        theirs.select(key, pl.col("h").alias("_h_old"), *[pl.col("frequency").alias("_f_old")] * both),
        on=key, how="left")
    found = pl.col("_h_old").is_not_null()
    created = new[matched.filter(~found).get_column("_i")]
    changed = new[matched.filter(found & (pl.col("_h_old") != pl.col("h"))).get_column("_i")]
    frequency = (matched.filter(found & (pl.col("_h_old") == pl.col("h")) & (pl.col("_f") != pl.col("_f_old")))
                 .select(key, pl.col("_f").alias("frequency")) if both else pl.DataFrame())
    gone = (theirs.select(key).clear() if matched.filter(found).height == theirs.height
            else theirs.join(ours.select(key), on=key, how="anti").select(key))
    return created, changed, frequency, gone


def _keyed_diff(new: pl.DataFrame, ours: pl.DataFrame, theirs: pl.DataFrame, keys: list[str],
                value: str | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(created, changed, gone keys) between two relationship tables keyed by ``keys``;
    ``ours``/``theirs`` are the new and old states' frames, with their key hashes.

    Joins numbers, not strings: rows are matched on the first key hash and proven equal by
    the second, and no old row may be matched twice. Only if that proof fails (a collision
    of the first hash, odds ~1e-6 at 10M rows) is the exact join on the key strings used.
    When every old row is matched (nothing gone, as when seeds are only added) the search
    for gone rows is skipped.
    """
    values = [value] if value else []
    left = ours.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_in"), "_h", pl.col("_g").alias("_gn"),
                       *[pl.col(v).alias("_vn") for v in values])
    right = theirs.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_io"), "_h", pl.col("_g").alias("_go"),
                          *[pl.col(v).alias("_vo") for v in values])
    matched = left.join(right, on="_h", how="left")
    found = pl.col("_io").is_not_null()
    hits = matched.filter(found)
    if (matched.height == new.height and hits.filter(pl.col("_gn") != pl.col("_go")).is_empty()
            and hits.get_column("_io").n_unique() == hits.height):
        created = new[matched.filter(~found).get_column("_in")]
        gone = (theirs.select(keys).clear() if hits.height == theirs.height
                else theirs[right.join(left.select("_h"), on="_h", how="anti").get_column("_io")].select(keys))
        changed = new[hits.filter(pl.col("_vn") != pl.col("_vo")).get_column("_in")] if value else new.clear()
        return created, changed, gone
    old = theirs.select(new.columns)
    if value:
        matched = new.join(old.select(*keys, pl.col(value).alias("_vo")), on=keys, how="left")
        created = matched.filter(pl.col("_vo").is_null()).select(new.columns)
        changed = matched.filter(pl.col("_vo").is_not_null() & (pl.col(value) != pl.col("_vo"))).select(new.columns)
    else:
        created, changed = new.join(old, on=keys, how="anti"), new.clear()
    return created, changed, old.join(new, on=keys, how="anti").select(keys)


def diff(old: GraphState | None, new: GraphTables, new_state: GraphState | None = None) -> GraphDelta:
    """The delta from ``old`` (what Neo4j holds; None = nothing) to ``new``. ``new_state``
    (``state_of(new)``, which the caller saves after the load anyway) spares hashing twice."""
    if old is None:
        kp_disciplines = _discipline_pairs(new.kps)
        return GraphDelta(kps_new=new.kps, kps_changed=new.kps.clear(), kp_frequencies=_NO_FREQUENCIES,
                          kps_gone=new.kps.select("kp_id").clear(), kp_disciplines=kp_disciplines,
                          kp_disciplines_gone=kp_disciplines.clear(), seeds_new=new.seeds,
                          seeds_changed=new.seeds.clear(), seeds_gone=new.seeds.select("seed_id").clear(),
                          links_new=new.links, links_gone=new.links.clear(), edges_new=new.edges,
                          edges_changed=new.edges.clear(), edges_gone=new.edges.select(_EDGE_KEYS).clear())
    ours = new_state or state_of(new)
    kps_new, kps_changed, kp_frequencies, kps_gone = _nodes(new.kps, ours.kps, old.kps, "kp_id")
    seeds_new, seeds_changed, _, seeds_gone = _nodes(new.seeds, ours.seeds, old.seeds, "seed_id")
    links_new, _, links_gone = _keyed_diff(new.links, ours.links, old.links, _LINK_KEYS, None)
    edges_new, edges_changed, edges_gone = _keyed_diff(new.edges, ours.edges, old.edges, _EDGE_KEYS, "weight")

    wanted = _discipline_pairs(pl.concat([kps_new, kps_changed]))
    had = _discipline_pairs(old.kps.join(kps_changed.select("kp_id"), on="kp_id"))
    return GraphDelta(kps_new=kps_new, kps_changed=kps_changed, kp_frequencies=kp_frequencies, kps_gone=kps_gone,
                      kp_disciplines=wanted.join(had, on=["kp_id", "discipline"], how="anti"),
                      kp_disciplines_gone=had.join(wanted, on=["kp_id", "discipline"], how="anti"),
                      seeds_new=seeds_new, seeds_changed=seeds_changed, seeds_gone=seeds_gone,
                      links_new=links_new, links_gone=links_gone,
                      edges_new=edges_new, edges_changed=edges_changed, edges_gone=edges_gone)


_NO_FREQUENCIES = pl.DataFrame(schema={"kp_id": pl.Utf8, "frequency": pl.Int64})


def _discipline_pairs(kps: pl.DataFrame) -> pl.DataFrame:
    return (kps.select("kp_id", pl.col("disciplines").alias("discipline")).explode("discipline").drop_nulls()
            .unique(maintain_order=True))


def node_buckets(keys: pl.Series, buckets: int) -> np.ndarray:
    """A stable bucket in [0, buckets) for each node key."""
    return (keys.hash(seed=_HASH_SEED) % buckets).cast(pl.Int64).to_numpy()


def _round_robin(buckets: int) -> list[list[tuple[int, int]]]:
    """Rounds of disjoint bucket pairs covering every pair {i, j} (i < j) once (the circle
    method for a round-robin tournament; ``buckets`` is even)."""
    ring = list(range(buckets))
    rounds = []
    for _ in range(buckets - 1):
        rounds.append([tuple(sorted((ring[i], ring[buckets - 1 - i]))) for i in range(buckets // 2)])
        ring = [ring[0], ring[-1], *ring[1:-1]]
    return rounds


def lock_free_rounds(start: np.ndarray, end: np.ndarray, writers: int, same_nodes: bool) -> list[list[np.ndarray]]:
    """Relationship indices grouped into rounds of at most ``writers`` groups each, such that
    within a round no two groups share an end node.

    ``start``/``end`` are node buckets of the two ends (from :func:`node_buckets` with
    ``writers * 2`` buckets when ``same_nodes``, else ``writers`` buckets). ``same_nodes``:
    both ends come from one node set (KP-KP); otherwise from two disjoint sets (Seed-KP).
    Empty groups and rounds are dropped; with one writer every relationship is in one round.
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    if start.shape != end.shape:
        raise ValueError("lock_free_rounds: start and end differ in length")
    if writers < 1:
        raise ValueError(f"lock_free_rounds: writers must be >= 1, not {writers}")
    if writers == 1:
        return [[np.arange(len(start))]] if len(start) else []
    if same_nodes:
        buckets = 2 * writers
        lo, hi = np.minimum(start, end), np.maximum(start, end)
        schedule = [[(i, i) for i in range(0, buckets, 2)], [(i, i) for i in range(1, buckets, 2)],
                    *_round_robin(buckets)]
    else:
        buckets = writers
        lo, hi = start, end
        schedule = [[(i, (i + r) % buckets) for i in range(buckets)] for r in range(buckets)]
    if len(start) and (lo.min() < 0 or hi.max() >= buckets):
        raise ValueError(f"lock_free_rounds: buckets must lie in [0, {buckets})")
    cell = lo * buckets + hi
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(buckets * buckets + 1))
    rounds = []
    for pairs in schedule:
        groups = [order[bounds[a * buckets + b]:bounds[a * buckets + b + 1]] for a, b in pairs]
        groups = [g for g in groups if len(g)]
        if groups:
            rounds.append(groups)
    return rounds
