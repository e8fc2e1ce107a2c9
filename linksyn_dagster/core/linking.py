"""Diffusion inputs: which seeds a sampled path pulls into its synthesis prompt."""

from __future__ import annotations

import numpy as np
import polars as pl

_EMPTY = {"path_id": pl.Utf8, "seed_ids": pl.List(pl.Utf8), "seed_link_strength": pl.List(pl.Int64)}


def linked_seeds(paths: pl.DataFrame, seed_kp_links: pl.DataFrame, limit: int, random_seed: int = 0) -> pl.DataFrame:
    """For every path (``path_id``, ``kp_ids``), in the order given, at most ``limit`` seeds
    holding its KPs:

    1. seeds holding two or more of the path's KPs, most KPs first; among seeds holding as
       many, the one pulled least by the paths before, then a seeded random order;
    2. the slots left go to the path's KPs in turn (path order, round robin): each gives
       the next seed of its own rotation, a seeded random order of all its seeds that goes
       through every one of them before it repeats one. So a popular KP shows the model
       different examples on each path, not always the same ones.

    Deterministic given the paths and their order, the links and ``random_seed``.

    Returns ``path_id``, ``seed_ids`` (list, in the order above) and ``seed_link_strength``
    (list of the number of distinct path KPs each seed holds). Paths without linked seeds
    get empty lists.

    Never joins a path with every seed of its KPs: a popular KP is held by a share of all
    seeds, so that join grows like paths x popularity, faster than the corpus. Instead:

    * seeds holding two or more of a path's KPs are found through KP *pairs*: the pairs of
      KPs each seed holds (at most 15 for 6 KPs) joined with the pairs of KPs on each path
      (at most 10 for 5), so the work is bounded by the co-occurrence of the path's KPs;
      a seed sharing c pairs with a path holds s KPs of it, c = s(s-1)/2;
    * a KP's rotation is cut to as many seeds as the paths can ask of it (2 x ``limit`` for
      each path it is on), so the rotations hold at most paths x KPs x 2 x limit seeds.

    The seeded orders come from polars' 64-bit hash, which is stable within a polars
    version (a polars upgrade may change which seeds a plan pulls).
    """
    if paths.is_empty():
        return pl.DataFrame(schema=_EMPTY)
    if limit <= 0:
        return paths.select("path_id").with_columns(
            pl.lit([], dtype=pl.List(pl.Utf8)).alias("seed_ids"),
            pl.lit([], dtype=pl.List(pl.Int64)).alias("seed_link_strength"))
    # each (path, KP) pair once (the order on the path matters only in the loop below); a
    # path's code is its row in `paths`
    steps = (
        paths.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("p"), pl.col("kp_ids").alias("kp_id"))
        .explode("kp_id")
        .drop_nulls("kp_id")
        .unique()
    )
    links = (
        seed_kp_links.select(pl.col("seed_id").cast(pl.Utf8), pl.col("kp_id").cast(pl.Utf8))
        .join(steps.select("kp_id").unique(), on="kp_id", how="semi")
    )  # made distinct below, on codes
    # the joins below run on integer codes, not on the id strings (at 1M seeds the pair
    # tables are tens of millions of rows): a seed's code is its row in `seed_ids`, a KP's
    # its rank in sorted order, so comparing codes compares ids
    seed_ids = links.get_column("seed_id").unique().sort()
    kp_codes = pl.DataFrame({"kp_id": links.get_column("kp_id").unique().sort()}).with_row_index("k")
    seed_codes = seed_ids.to_frame().with_row_index("s")
    # codes only from here (the draw of a KP's rotation is made of the ids first, a slice
    # of rows at a time)
    coded = _distinct_pairs(
        seed_ids.search_sorted(links.get_column("seed_id")).cast(pl.UInt32).rename("s"),
        kp_codes.get_column("kp_id").search_sorted(links.get_column("kp_id")).cast(pl.UInt32).rename("k"),
        links.lazy().select(_draw(pl.concat_str("kp_id", pl.lit("\0"), "seed_id"), random_seed).alias("draw"))
        .collect(engine="streaming").to_series())
    del links
    coded_steps = steps.join(kp_codes, on="kp_id").select("p", "k")
    del steps

    # two or more KPs: pairs of the seed's KPs (on some path) against pairs on each path, in
    # polars' streaming engine (at 1M seeds tens of millions of pairs, never all held at once)
    seed_pairs = (
        coded.lazy().select("s", "k").join(coded.lazy().select("s", "k"), on="s", suffix="_b")
        .filter(pl.col("k") < pl.col("k_b"))
    )
    path_pairs = (
        coded_steps.lazy().join(coded_steps.lazy(), on="p", suffix="_b")
        .filter(pl.col("k") < pl.col("k_b"))
        .select("p", "k", "k_b")
    )
    strong = (
        path_pairs.join(seed_pairs, on=["k", "k_b"])
        .group_by("p", "s")
        .agg(pl.len().alias("pairs"))
        .collect(engine="streaming")
        # c = s(s-1)/2  =>  s = (1 + sqrt(1 + 8c)) / 2
        .select("p", "s",
                ((1 + (1 + 8 * pl.col("pairs").cast(pl.Float64)).sqrt()) / 2).round().cast(pl.Int64).alias("strength"))
        .join(seed_codes, on="s")
        .with_columns(_draw(pl.col("seed_id"), random_seed).alias("draw"))
        .sort(["p", "strength", "draw"], descending=[False, True, False])
        .group_by("p", maintain_order=True)
        .agg("s", "strength")
    )
    # each KP's rotation: its seeds in a seeded random order of the KP's own, cut to what
    # the paths can ask of it
    # (a path takes at most `limit` seeds of a KP and skips at most `limit` it holds already)
    asked = coded_steps.group_by("k").agg((pl.len() * 2 * limit).alias("asked"))
    rotations = (
        coded.join(asked, on="k")
        .sort("k", "draw")
        .filter(pl.int_range(pl.len()).over("k") < pl.col("asked"))
        .group_by("k", maintain_order=True)
        .agg("s")
        .join(kp_codes, on="k")
        .select("kp_id", "s")
    )
    rotation = {kp: seeds for kp, seeds in rotations.iter_rows()}
    strong_of = {path: (seeds, strengths) for path, seeds, strengths in strong.iter_rows()}
    del coded, strong, rotations

    cursor: dict[str, int] = {}
    uses: dict[int, int] = {}
    chosen_ids: list[list[int]] = []
    chosen_strengths: list[list[int]] = []
    for path, (kp_ids,) in enumerate(paths.select("kp_ids").iter_rows()):
        seeds_strong, strengths = strong_of.get(path, ([], []))
        # most KPs first, then least pulled so far, then the seeded order (a stable sort)
        order = sorted(range(len(seeds_strong)), key=lambda i: (-strengths[i], uses.get(seeds_strong[i], 0)))[:limit]
        picked = [seeds_strong[i] for i in order]
        picked_strengths = [strengths[i] for i in order]
        taken = set(picked)
        kps = [kp for kp in dict.fromkeys(kp_ids or []) if kp in rotation]
        while len(picked) < limit and kps:
            for kp in list(kps):
                seeds = rotation[kp]
                for _ in range(len(seeds)):  # the next seed of the rotation this path lacks
                    seed = seeds[cursor.get(kp, 0) % len(seeds)]
                    cursor[kp] = cursor.get(kp, 0) + 1
                    if seed not in taken:
                        picked.append(seed)
                        picked_strengths.append(1)  # a seed holding more path KPs is among the strong
                        taken.add(seed)
                        break
                else:
                    kps.remove(kp)  # every seed of this KP is on the path already
                if len(picked) == limit:
                    break
        for seed in picked:
            uses[seed] = uses.get(seed, 0) + 1
        chosen_ids.append(picked)
        chosen_strengths.append(picked_strengths)
    # the seeds' codes back to their ids
    chosen = pl.Series(chosen_ids, dtype=pl.List(pl.UInt32))
    return pl.DataFrame({
        "path_id": paths.get_column("path_id"),
        "seed_ids": chosen.list.eval(pl.element().replace_strict(
            pl.int_range(seed_ids.len(), dtype=pl.UInt32, eager=True), seed_ids, return_dtype=pl.Utf8))
        if seed_ids.len() else pl.Series(chosen_ids, dtype=pl.List(pl.Utf8)),
        "seed_link_strength": pl.Series(chosen_strengths, dtype=pl.List(pl.Int64)),
    })


def _distinct_pairs(s: pl.Series, k: pl.Series, draw: pl.Series) -> pl.DataFrame:
    """The rows (``s``, ``k``, ``draw``) with each (``s``, ``k``) pair once, in the order of the
    pairs: unique on one 64-bit key in numpy (a polars unique on the two columns took five
    times the memory of the rows at 4.4M links)."""
    key = (s.to_numpy().astype(np.uint64) << np.uint64(32)) | k.to_numpy().astype(np.uint64)
    _, first = np.unique(key, return_index=True)
    return pl.DataFrame([s, k, draw])[first]


def _draw(key: pl.Expr, random_seed: int) -> pl.Expr:
    """A seeded pseudo-random order of ``key`` values (a 64-bit hash of the value)."""
    return key.hash(seed=random_seed % (2**63))
