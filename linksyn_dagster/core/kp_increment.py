"""knowledge_points by increments: new seeds added to a finished run cost what they add.

The full run (``canonicalize_with_names`` + ``cooccurrence_edges``) is a function of the
set of mention rows, whatever order they came in. An increment reaches the same tables
from the previous ones, kept in the warehouse:

* ``knowledge_points``, ``seed_kp_links``, ``kp_cooccurrence`` (the previous output);
* ``kp_counts``: the distinct seeds per surface form and per discipline of every KP, by
  which its name and primary discipline are chosen;
* ``kp_names``: every KP name seen, with its key, its KP, the disciplines it was seen
  with, and the blocking signatures of near-duplicate merging (R2 compact form, R3 token
  set, R4 deletion entries), so new keys are matched against the existing ones by lookup,
  never by comparing with all keys.

What can change when seeds are only added, and how an increment follows it:

* new names get keys (the only per-name Python string work), and keys seen with a new
  discipline may now share one with a neighbour (R4 asks for a shared discipline);
* merging only ever joins groups (new blocking signatures, grown discipline sets), except
  where an R4 block grows past ``_MAX_BLOCK`` entries: the full run skips such a block, so
  its merges would undo. That is rare and raises ``NeedsFullRun``;
* a KP's row (name, frequency, disciplines, ...) depends only on its own mentions. A KP a
  new seed names grows by the aggregate of its new mentions (``add_kps``: the new seeds are
  not among its seeds, so counts add); a KP a merge makes, or whose id a new shorter key
  changes, is recomputed from all its mentions (read from ``seed_kps`` by name) with the
  full run's own ``aggregate_kps``; the others stay;
* co-occurrence weights are sums over seeds, so they move by the pairs of the seeds whose
  KP set changed (new seeds, and seeds of merged KPs), each old pair out and new pair in.

Reads and writes go through one DuckDB connection (the warehouse's) with these tables;
the computing in between is polars.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from linksyn_dagster.core.canonical import (
    COUNT_SCHEMA,
    _MAX_BLOCK,
    add_kps,
    _compact_signature,
    _safe_single_edit,
    _token_set_signature,
    aggregate_kps,
    alias_map_for,
    canonical_key,
    canonicalize_mentions,
    clean_mentions,
    deletion_entries,
    kp_id_for,
    name_disciplines,
    resolve_alias,
)
from linksyn_dagster.core.cooccurrence import EDGE_SCHEMA, cooccurrence_edges
from linksyn_dagster.queries import transaction

__all__ = ["CHANGE_SCHEMA", "KP_NAMES_SCHEMA", "KnowledgeDelta", "NeedsFullRun", "apply_delta", "full_run",
           "full_run_tables", "increment", "name_rows", "state_is_whole"]

KP_NAMES_SCHEMA = {
    "kp_name": pl.Utf8, "key": pl.Utf8, "kp_id": pl.Utf8, "disciplines": pl.List(pl.Utf8),
    "compact": pl.Utf8, "tokens": pl.Utf8, "variants": pl.List(pl.Utf8),
}
LINK_SCHEMA = {"seed_id": pl.Utf8, "kp_id": pl.Utf8}
# What one run of knowledge_points changed, for kp_graph: kind kp (kp_id; disciplines = the
# old ones of a changed KP), link (seed_id, kp_id), edge (kp_id = kp_a, kp_b, weight = the new
# one, old_weight the one before) and seed (seed_id: its first link came, or its last went); change new, changed
# (for a KP: frequency when nothing else of what the graph holds changed) or gone.
# from_state/to_state: the knowledge state the changes start from and lead to.
CHANGE_SCHEMA = {
    "from_state": pl.Utf8, "to_state": pl.Utf8, "kind": pl.Utf8, "change": pl.Utf8, "kp_id": pl.Utf8,
    "seed_id": pl.Utf8, "kp_b": pl.Utf8, "weight": pl.Int64, "old_weight": pl.Int64, "disciplines": pl.List(pl.Utf8),
}
SIGNATURE_SLICE = 20_000  # keys whose blocking signatures are built as Python objects at once
# the mention rows of seed_kps as canonicalization reads them
MENTIONS = "SELECT seed_id, discipline AS seed_discipline, kp_name, kp_discipline, extracted_at FROM seed_kps"
NEW_MENTIONS = MENTIONS + " WHERE seed_id NOT IN (SELECT seed_id FROM seed_kp_links)"  # the seeds without links yet


class NeedsFullRun(Exception):
    """The increment cannot follow this change exactly (a near-duplicate block outgrew the
    full run's limit); recompute whole."""


@dataclass(frozen=True)
class KnowledgeDelta:
    """What an increment changes. ``kps`` is the whole new knowledge_points table (the
    asset's output); the rest are row changes of the state tables."""

    kps: pl.DataFrame
    kps_upserted: pl.DataFrame  # knowledge_points rows new or recomputed
    kps_removed: pl.DataFrame  # kp_id: KPs that merged into others
    kp_counts: pl.DataFrame  # kp_counts rows of the upserted KPs (all of theirs)
    names: pl.DataFrame  # kp_names rows to put in place (by kp_name)
    links_added: pl.DataFrame
    links_removed: pl.DataFrame
    edges_upserted: pl.DataFrame  # kp_a, kp_b, weight (new or new weight)
    edges_removed: pl.DataFrame  # kp_a, kp_b
    changes: pl.DataFrame  # the rows of kp_changes: what kp_graph writes (CHANGE_SCHEMA)
    new_seeds: int  # seeds that brought KPs (a seed whose names all lack a key brings none)

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name).height for f in fields(self)
                if isinstance(getattr(self, f.name), pl.DataFrame) and f.name not in ("kps", "changes", "kp_counts")}


def _signatures(key: str) -> tuple[str | None, str | None, list[str]]:
    tokens = _token_set_signature(key)
    return (_compact_signature(key), " ".join(tokens) if tokens else None,
            [f"{p}:{v}" for p, v in deletion_entries(key)])


def name_rows(names: pl.DataFrame, disciplines: pl.DataFrame) -> pl.DataFrame:
    """kp_names rows of ``names`` (kp_name, key, kp_id) with the disciplines each name was
    seen with (kp_name, disciplines) and the blocking signatures of its key."""
    keys = names.get_column("key").unique().sort()
    schema = {"key": pl.Utf8, "compact": pl.Utf8, "tokens": pl.Utf8, "variants": pl.List(pl.Utf8)}

    def signed_part(part: list[str]) -> pl.DataFrame:
        sigs = [_signatures(k) for k in part]
        return pl.DataFrame({"key": part, "compact": [s[0] for s in sigs], "tokens": [s[1] for s in sigs],
                             "variants": [s[2] for s in sigs]}, schema=schema)

    # a slice of keys at a time: the signatures as Python strings (about 20 per key) exist
    # for one slice only, not for the half a million keys of 1M seeds at once
    signed = pl.concat([pl.DataFrame(schema=schema),
                        *(signed_part(keys.slice(i, SIGNATURE_SLICE).to_list())
                          for i in range(0, len(keys), SIGNATURE_SLICE))])
    return (names.join(disciplines, on="kp_name", how="left").join(signed, on="key", how="left")
            .with_columns(pl.col("disciplines").fill_null([]))
            .select(list(KP_NAMES_SCHEMA)).cast(KP_NAMES_SCHEMA).sort("kp_name"))


def full_run_tables(rows: pl.DataFrame, aliases: Mapping[str, str] | None = None
                    ) -> Iterator[tuple[str, pl.DataFrame]]:
    """The tables of all mention rows, as (table, rows), each made once the one before has
    been taken: knowledge_points, kp_names, kp_counts, kp_cooccurrence, seed_kp_links. A
    caller that writes each and lets go of it (and of ``rows``) before asking for the next
    never holds them all: at 1M seeds the 7M edges are made after the names are written,
    and the names' signatures while no edge exists."""
    mentions = clean_mentions(rows)
    del rows  # the raw rows go here when the caller has let go of them (the asset does)
    disciplines = name_disciplines(mentions)  # first: small, while no result is held yet
    kps, links, names, counts = canonicalize_mentions(mentions, aliases)
    del mentions
    yield "knowledge_points", kps
    del kps
    yield "kp_names", name_rows(names, disciplines)
    del names, disciplines
    yield "kp_counts", counts
    del counts
    yield "kp_cooccurrence", cooccurrence_edges(links)
    yield "seed_kp_links", links


def full_run(rows: pl.DataFrame, aliases: Mapping[str, str] | None = None
             ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(knowledge_points, seed_kp_links, kp_cooccurrence, kp_names, kp_counts) of all mention rows."""
    tables = dict(full_run_tables(rows, aliases))
    return tuple(tables[name] for name in (
        "knowledge_points", "seed_kp_links", "kp_cooccurrence", "kp_names", "kp_counts"))


def state_is_whole(conn: Any) -> bool:
    """The previous run's tables are there and agree with each other (a run stopped between
    writing its side tables and its output fails this): an increment may start from them."""
    have = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"knowledge_points", "kp_names", "kp_counts", "seed_kp_links", "kp_cooccurrence"} <= have:
        return False
    kps, frequencies, links, named, counted, vanished = conn.execute(
        "SELECT (SELECT count(*) FROM knowledge_points), (SELECT coalesce(sum(frequency), 0) FROM knowledge_points),"
        " (SELECT count(*) FROM seed_kp_links), (SELECT count(DISTINCT kp_id) FROM kp_names),"
        " (SELECT count(DISTINCT kp_id) FROM kp_counts),"
        " (SELECT count(*) FROM (SELECT DISTINCT seed_id FROM seed_kp_links) l"
        "  ANTI JOIN (SELECT DISTINCT seed_id FROM seed_kps) s USING (seed_id))").fetchone()
    # a KP's frequency is its number of links; every KP has names; no linked seed left seed_kps
    # (an increment only adds seeds)
    return kps > 0 and frequencies == links and named == kps == counted and vanished == 0


def _query(conn: Any, text: str, **frames: pl.DataFrame) -> pl.DataFrame:
    for name, frame in frames.items():
        conn.register(name, frame.to_arrow())
    try:
        return conn.execute(text).pl()
    finally:
        for name in frames:
            conn.unregister(name)


def _one_column(name: str, values: list[Any] | pl.Series, dtype: pl.DataType = pl.Utf8) -> pl.DataFrame:
    return pl.DataFrame({name: list(values) if not isinstance(values, pl.Series) else values},
                        schema={name: dtype})


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def increment(conn: Any, aliases: Mapping[str, str] | None = None) -> KnowledgeDelta:
    """The delta that brings the state tables (module docstring) to what a full run over
    all of ``seed_kps`` would give, reading only what the new seeds touch. New seeds are
    those of ``seed_kps`` without links yet (a seed only ever adds rows)."""
    new = clean_mentions(conn.execute(NEW_MENTIONS).pl())
    alias_map = alias_map_for(aliases)
    names_new = new.get_column("kp_name").unique().sort()
    known = _query(conn, "SELECT * FROM kp_names WHERE kp_name IN (SELECT kp_name FROM q)",
                   q=names_new.to_frame()).cast(KP_NAMES_SCHEMA)
    unknown = names_new.filter(~names_new.is_in(known.get_column("kp_name").implode()))
    fresh = pl.DataFrame({"kp_name": unknown, "key": [resolve_alias(canonical_key(n), alias_map) for n in unknown]},
                         schema={"kp_name": pl.Utf8, "key": pl.Utf8}).filter(pl.col("key") != "")
    # names of the new rows with a key, and the disciplines each is seen with now
    seen = name_disciplines(new)
    touched_names = pl.concat([known.select("kp_name", "key"), fresh])
    if touched_names.is_empty():
        return _unchanged(conn, new)
    touched_keys = touched_names.get_column("key").unique()

    # key-level state of the touched keys: every name of theirs, old disciplines
    old_key_rows = _query(conn, "SELECT * FROM kp_names WHERE key IN (SELECT key FROM q)",
                          q=touched_keys.to_frame()).cast(KP_NAMES_SCHEMA)
    old_key_disc = _key_disciplines(old_key_rows)
    new_key_disc = _key_disciplines(pl.concat([
        old_key_rows.select("key", "disciplines"),
        touched_names.join(seen, on="kp_name").select("key", "disciplines")]))
    grown = new_key_disc.join(old_key_disc, on="key", how="left", suffix="_old").filter(
        pl.col("disciplines_old").is_null() | (pl.col("disciplines") != pl.col("disciplines_old")))
    active = grown.get_column("key").to_list()  # keys that may gain a merge: new or seen in a new discipline
    state_keys = set(old_key_rows.get_column("key").to_list())
    new_keys = sorted(set(touched_keys.to_list()) - state_keys)
    kp_of_key = dict(zip(*old_key_rows.select("key", "kp_id").unique().get_columns(), strict=True))
    disc_now = {k: set(d) for k, d in new_key_disc.iter_rows()}

    pairs = _new_merges(conn, active, new_keys, kp_of_key, disc_now)
    uf = _UnionFind()
    node = {k: ("kp:" + kp_of_key[k]) if k in kp_of_key else ("key:" + k) for k in set(touched_keys.to_list())}
    for a, b in pairs:
        uf.union(node.get(a) or "kp:" + kp_of_key[a], node.get(b) or "kp:" + kp_of_key[b])
    for n in node.values():
        uf.find(n)
    # components: the old KPs and new keys each joins; its representative is the least of
    # the old KPs' representatives and the new keys (shortest, then lexicographic)
    previous = conn.execute("SELECT * FROM knowledge_points").pl()
    touched_old = sorted({n[3:] for n in uf.parent if n.startswith("kp:")})
    old_rep = dict(previous.select("kp_id", "key").join(_one_column("kp_id", touched_old), on="kp_id")
                   .iter_rows())
    components: dict[str, tuple[set[str], set[str]]] = {}
    for n in list(uf.parent):
        olds, keys = components.setdefault(uf.find(n), (set(), set()))
        (olds if n.startswith("kp:") else keys).add(n.split(":", 1)[1])
    new_id: dict[str, str] = {}  # root -> the KP id of its component
    rep_of_root: dict[str, str] = {}
    for root, (olds, keys) in components.items():
        rep = min([old_rep[o] for o in olds] + list(keys), key=lambda k: (len(k), k))
        rep_of_root[root], new_id[root] = rep, kp_id_for(rep)
    # KPs that only grew (one old KP, same id) move by their new mentions; the others (merged,
    # renamed or new) are recomputed from all their mentions
    grew = {r for r, (olds, _) in components.items() if len(olds) == 1 and new_id[r] in olds}
    rebuilt_old = sorted({o for r, (olds, _) in components.items() if r not in grew for o in olds})
    members = _query(conn, "SELECT * FROM kp_names WHERE kp_id IN (SELECT kp_id FROM q)",
                     q=_one_column("kp_id", rebuilt_old)).cast(KP_NAMES_SCHEMA)
    root_of_old = {o: uf.find("kp:" + o) for o in touched_old}
    kp_id_of_key = {k: new_id[root_of_old[kp]] for k, kp in members.select("key", "kp_id").iter_rows()}
    kp_id_of_key.update({k: new_id[uf.find(node[k])] for k in touched_keys.to_list()})
    rep_keys = pl.DataFrame([(new_id[r], rep_of_root[r]) for r in components], schema={"kp_id": pl.Utf8, "key": pl.Utf8},
                            orient="row").unique("kp_id")

    # kp_names rows that change: names of the new rows (disciplines grown; new names) and the
    # names of rebuilt KPs (their KP id)
    names = pl.concat([members.select("kp_name", "key"), touched_names]).unique("kp_name")
    names = names.with_columns(pl.col("key").replace_strict(kp_id_of_key, return_dtype=pl.Utf8).alias("kp_id"))
    old_disc = pl.concat([members.select("kp_name", "disciplines"), known.select("kp_name", "disciplines")])
    disc = pl.concat([old_disc, seen]).explode("disciplines").drop_nulls() \
        .unique().group_by("kp_name").agg(pl.col("disciplines").sort())
    name_table = name_rows(names, disc)
    grew_ids = sorted(new_id[r] for r in grew)
    rebuilt_ids = {new_id[r] for r in components if r not in grew}
    rebuilt_names = names.filter(pl.col("kp_id").is_in(list(rebuilt_ids)))

    # rebuilt: all their mentions; grown: their new mentions, added to what they were
    mentions = clean_mentions(_query(conn, f"{MENTIONS} WHERE kp_name IN (SELECT kp_name FROM q)",
                                     q=rebuilt_names.select("kp_name")))
    kps_rebuilt, links_rebuilt, counts_rebuilt = aggregate_kps(mentions, rebuilt_names.select("kp_name", "kp_id"),
                                                               rep_keys)
    grown_names = names.filter(pl.col("kp_id").is_in(grew_ids)).select("kp_name", "kp_id")
    kps_added, links_grown, counts_added = aggregate_kps(new.join(grown_names, on="kp_name", how="semi"), grown_names,
                                                         rep_keys)
    old_counts = _query(conn, "SELECT * FROM kp_counts WHERE kp_id IN (SELECT kp_id FROM q)",
                        q=_one_column("kp_id", grew_ids)).cast(COUNT_SCHEMA)
    kps_grown, counts_grown = add_kps(previous.join(_one_column("kp_id", grew_ids), on="kp_id"), old_counts,
                                      kps_added, counts_added)
    kps_upserted = pl.concat([kps_rebuilt, kps_grown]).sort("kp_id")
    counts = pl.concat([counts_rebuilt, counts_grown]).sort("kp_id", "kind", "value")

    links_old = _query(conn, "SELECT seed_id, kp_id FROM seed_kp_links WHERE kp_id IN (SELECT kp_id FROM q)",
                       q=_one_column("kp_id", rebuilt_old)).cast(LINK_SCHEMA)
    links_added = pl.concat([links_rebuilt.join(links_old, on=["seed_id", "kp_id"], how="anti"), links_grown])
    links_removed = links_old.join(links_rebuilt, on=["seed_id", "kp_id"], how="anti")
    edges_upserted, edges_removed, edge_and_seed_changes = _edge_delta(conn, links_added, links_removed)

    kps_removed = _one_column("kp_id", sorted(set(rebuilt_old) - rebuilt_ids))
    kps = pl.concat([previous.join(pl.concat([kps_upserted.select("kp_id"), kps_removed]), on="kp_id", how="anti")
                     .select(kps_upserted.columns).cast(kps_upserted.schema), kps_upserted]).sort("kp_id")
    # a KP whose graph properties but its frequency stay is a cheaper write for kp_graph
    kept = ["name", "disciplines", "primary_discipline", "aliases"]
    kp_changes = (kps_upserted.select("kp_id", *kept)
                  .join(previous.select("kp_id", *kept).cast(kps_upserted.select(kept).schema), on="kp_id",
                        how="left", suffix="_old")
                  .select("kp_id", pl.col("disciplines_old").alias("disciplines"),
                          pl.when(pl.col("disciplines_old").is_null()).then(pl.lit("new"))
                          .when(pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}_old")) for c in kept]))
                          .then(pl.lit("frequency")).otherwise(pl.lit("changed")).alias("change")))
    changes = pl.concat([
        kp_changes.select(pl.lit("kp").alias("kind"), "change", "kp_id", pl.col("disciplines").cast(pl.List(pl.Utf8))),
        kps_removed.select(pl.lit("kp").alias("kind"), pl.lit("gone").alias("change"), "kp_id"),
        links_added.select(pl.lit("link").alias("kind"), pl.lit("new").alias("change"), "seed_id", "kp_id"),
        links_removed.select(pl.lit("link").alias("kind"), pl.lit("gone").alias("change"), "seed_id", "kp_id"),
        edge_and_seed_changes], how="diagonal")
    return KnowledgeDelta(kps=kps, kps_upserted=kps_upserted, kps_removed=kps_removed, kp_counts=counts, names=name_table,
                          links_added=links_added, links_removed=links_removed, edges_upserted=edges_upserted,
                          edges_removed=edges_removed, changes=_changes(changes),
                          new_seeds=new.join(touched_names, on="kp_name", how="semi").get_column("seed_id").n_unique())


def _unchanged(conn: Any, new: pl.DataFrame) -> KnowledgeDelta:
    kps = conn.execute("SELECT * FROM knowledge_points ORDER BY kp_id").pl()
    links = pl.DataFrame(schema=LINK_SCHEMA)
    return KnowledgeDelta(kps=kps, kps_upserted=kps.clear(), kps_removed=kps.select("kp_id").clear(),
                          kp_counts=pl.DataFrame(schema=COUNT_SCHEMA),
                          names=pl.DataFrame(schema=KP_NAMES_SCHEMA), links_added=links, links_removed=links,
                          edges_upserted=pl.DataFrame(schema=EDGE_SCHEMA),
                          edges_removed=pl.DataFrame(schema={"kp_a": pl.Utf8, "kp_b": pl.Utf8}),
                          changes=_changes(pl.DataFrame()),
                          new_seeds=0)


def _changes(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (some of CHANGE_SCHEMA's columns) as kp_changes rows, in a stable order."""
    return (pl.concat([pl.DataFrame(schema=CHANGE_SCHEMA), rows], how="diagonal_relaxed").select(list(CHANGE_SCHEMA))
            .cast(CHANGE_SCHEMA).sort("kind", "change", "kp_id", "seed_id", "kp_b", nulls_last=True))


def _key_disciplines(rows: pl.DataFrame) -> pl.DataFrame:
    """key, disciplines (sorted union over the key's names)."""
    return (rows.select("key", "disciplines").explode("disciplines").group_by("key")
            .agg(pl.col("disciplines").drop_nulls().unique().sort()))


def _new_merges(conn: Any, active: list[str], new_keys: list[str], kp_of_key: dict[str, str],
                disc_now: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of keys (one of them active) that near-duplicate merging joins now (R2, R3, and
    R4 with the grown discipline sets), found through the blocking signatures in kp_names."""
    if not active:
        return []
    sig = {k: _signatures(k) for k in active}
    compacts = sorted({s[0] for s in sig.values() if s[0]})
    tokens = sorted({s[1] for s in sig.values() if s[1]})
    variant_strings = sorted({e.split(":", 1)[1] for s in sig.values() for e in s[2]})
    found = _query(conn, """
        SELECT DISTINCT key, kp_id, compact, tokens, variants, disciplines FROM kp_names
        WHERE compact IN (SELECT v FROM qc) OR tokens IN (SELECT v FROM qt)
           OR key IN (SELECT key FROM (SELECT key, unnest(variants) AS e FROM kp_names)
                      WHERE substr(e, strpos(e, ':') + 1) IN (SELECT v FROM qv))""",
                   qc=_one_column("v", compacts), qt=_one_column("v", tokens),
                   qv=_one_column("v", variant_strings)).cast({"disciplines": pl.List(pl.Utf8)})
    # every key in play: the state's found ones and the new ones, with signatures and disciplines
    info: dict[str, tuple[str | None, str | None, list[str]]] = {}
    for key, _kp, compact, tok, variants, ds in found.iter_rows():
        info[key] = (compact, tok, list(variants or []))
        if key not in disc_now:
            disc_now[key] = set()
        if key not in sig:
            disc_now[key] |= set(ds or [])  # a found key's disciplines: union over its names
        kp_of_key.setdefault(key, _kp)
    for key in new_keys:
        info[key] = sig.get(key) or _signatures(key)
    for key in active:
        info[key] = sig[key]
    active_set = set(active)
    pairs: set[tuple[str, str]] = set()

    def group(index: int) -> None:
        by: dict[str, list[str]] = {}
        for key, s in info.items():
            if s[index]:
                by.setdefault(s[index], []).append(key)
        for keys in by.values():
            for a in keys:
                if a in active_set:
                    pairs.update((min(a, b), max(a, b)) for b in keys if b != a)

    group(0)
    group(1)
    # R4: the blocks of the active keys' entries, old size (state keys) and new (with new keys)
    blocks: dict[str, list[tuple[str, int]]] = {}
    wanted = set(variant_strings)
    for key, s in info.items():
        for e in s[2]:
            p, v = e.split(":", 1)
            if v in wanted:
                blocks.setdefault(v, []).append((key, int(p)))
    brand_new = set(new_keys)
    for v, entries in blocks.items():
        old_size = sum(1 for k, _ in entries if k not in brand_new)
        if len(entries) > _MAX_BLOCK:
            if old_size <= _MAX_BLOCK and old_size > 1:
                raise NeedsFullRun(f"near-duplicate block {v!r} grew from {old_size} to {len(entries)} entries")
            continue
        for i, (ka, pa) in enumerate(entries):
            for kb, pb in entries[i + 1:]:
                if ka == kb or not (ka in active_set or kb in active_set):
                    continue
                if (pa == pb or pa == -1 or pb == -1) and disc_now.get(ka, set()) & disc_now.get(kb, set()) \
                        and _safe_single_edit(ka, kb):
                    pairs.add((min(ka, kb), max(ka, kb)))
    return sorted(pairs)


def _edge_delta(conn: Any, added: pl.DataFrame, removed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Co-occurrence rows to put in place and to delete: the pairs of every seed whose KP
    set changed, out with the old set and in with the new one."""
    seeds = pl.concat([added.select("seed_id"), removed.select("seed_id")]).unique()
    before = _query(conn, "SELECT seed_id, kp_id FROM seed_kp_links WHERE seed_id IN (SELECT seed_id FROM q)",
                    q=seeds).cast(LINK_SCHEMA)
    after = pl.concat([before.join(removed, on=["seed_id", "kp_id"], how="anti"), added.select(before.columns)])
    change = (pl.concat([cooccurrence_edges(after),
                         cooccurrence_edges(before).with_columns(-pl.col("weight"))])
              .group_by("kp_a", "kp_b").agg(pl.col("weight").sum().alias("change"))
              .filter(pl.col("change") != 0))
    current = _query(conn, "SELECT e.kp_a, e.kp_b, e.weight FROM kp_cooccurrence e JOIN q USING (kp_a, kp_b)",
                     q=change.select("kp_a", "kp_b")).cast(EDGE_SCHEMA)
    now = (change.join(current, on=["kp_a", "kp_b"], how="left")
           .select("kp_a", "kp_b", (pl.col("weight").fill_null(0) + pl.col("change")).alias("weight"),
                   pl.col("weight").alias("old_weight"),
                   pl.when(pl.col("weight").is_null()).then(pl.lit("new"))
                   .when(pl.col("weight") + pl.col("change") == 0).then(pl.lit("gone"))
                   .otherwise(pl.lit("changed")).alias("change")))
    if now.filter(pl.col("weight") < 0).height:
        raise NeedsFullRun("co-occurrence weights went negative: the state tables disagree")
    linked_before = set(before.get_column("seed_id").to_list())
    linked_after = set(after.get_column("seed_id").to_list())
    seeds = pl.DataFrame(
        [(x, "new") for x in sorted(linked_after - linked_before)] + [(x, "gone") for x in sorted(linked_before - linked_after)],
        schema={"seed_id": pl.Utf8, "change": pl.Utf8}, orient="row")
    edge_changes = now.select(pl.lit("edge").alias("kind"), "change", pl.col("kp_a").alias("kp_id"),
                              pl.col("kp_b"), pl.when(pl.col("change") != "gone").then(pl.col("weight")).alias("weight"),
                              "old_weight")
    return (now.filter(pl.col("weight") > 0).select("kp_a", "kp_b", "weight").sort("kp_a", "kp_b").cast(EDGE_SCHEMA),
            now.filter(pl.col("weight") == 0).select("kp_a", "kp_b").sort("kp_a", "kp_b"),
            pl.concat([edge_changes, seeds.select(pl.lit("seed").alias("kind"), "change", "seed_id")],
                      how="diagonal"))


def apply_delta(conn: Any, delta: KnowledgeDelta, changes: pl.DataFrame | None = None) -> None:
    """Write the side-table changes of ``delta``, and ``changes`` as the whole of kp_changes,
    in one transaction (knowledge_points itself is the asset's output, written by the IO
    manager)."""
    counted = pl.concat([delta.kps_upserted.select("kp_id"), delta.kps_removed])
    steps = [
        *([("kp_changes", [], None, changes)] if changes is not None else []),
        ("kp_counts", ["kp_id"], counted, delta.kp_counts),
        ("kp_names", ["kp_name"], delta.names.select("kp_name"), delta.names),
        ("seed_kp_links", ["seed_id", "kp_id"], delta.links_removed, delta.links_added),
        ("kp_cooccurrence", ["kp_a", "kp_b"],
         pl.concat([delta.edges_removed, delta.edges_upserted.select("kp_a", "kp_b")]), delta.edges_upserted),
    ]
    with transaction(conn):
        for table, keys, gone, incoming in steps:
            if not keys:
                conn.execute(f"DELETE FROM {table}")
            elif gone.height:
                conn.register("gone", gone.to_arrow())
                keys_sql = ", ".join(keys)
                conn.execute(f"DELETE FROM {table} WHERE ({keys_sql}) IN (SELECT ({keys_sql}) FROM gone)")
                conn.unregister("gone")
            if incoming.height:
                conn.register("incoming", incoming.to_arrow())
                conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                conn.unregister("incoming")
