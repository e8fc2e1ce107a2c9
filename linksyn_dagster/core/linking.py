"""Diffusion inputs: which seeds a sampled path pulls into its synthesis prompt."""

from __future__ import annotations

import polars as pl

_EMPTY = {"path_id": pl.Utf8, "seed_ids": pl.List(pl.Utf8), "seed_link_strength": pl.List(pl.Int64)}


def linked_seeds(paths: pl.DataFrame, seed_kp_links: pl.DataFrame, limit: int) -> pl.DataFrame:
    """For every path (``path_id``, ``kp_ids``), the seeds holding its KPs, strongest links
    first: seeds holding more of the path's KPs rank higher, then seeds holding earlier KPs
    of the path, then ``seed_id`` for a stable order. At most ``limit`` seeds per path.

    Returns ``path_id``, ``seed_ids`` (list, ranked) and ``seed_link_strength`` (list of the
    number of distinct path KPs each seed holds). Paths without linked seeds get empty lists.

    Never joins a path with every seed of its KPs: a popular KP is held by a share of all
    seeds, so that join grows like paths x popularity, faster than the corpus. Instead:

    * seeds holding two or more of a path's KPs are found through KP *pairs*: the pairs of
      KPs each seed holds (at most 15 for 6 KPs) joined with the pairs of KPs on each path
      (at most 10 for 5), so the work is bounded by the co-occurrence of the path's KPs;
      a seed sharing c pairs with a path holds s KPs of it, c = s(s-1)/2;
    * seeds holding exactly one are ranked by the position of that KP, then by seed_id, and
      at most ``limit`` of them are ever needed, and only when fewer than ``limit`` seeds hold
      two or more. So the first 2·limit - 1 seeds of each KP (by seed_id) are enough: at
      most limit - 1 of them hold two or more path KPs, which leaves at least ``limit``.
    """
    if paths.is_empty():
        return pl.DataFrame(schema=_EMPTY)
    if limit <= 0:
        return paths.select("path_id").with_columns(
            pl.lit([], dtype=pl.List(pl.Utf8)).alias("seed_ids"),
            pl.lit([], dtype=pl.List(pl.Int64)).alias("seed_link_strength"))
    steps = (
        paths.select("path_id", "kp_ids")
        .with_columns(pl.int_ranges(0, pl.col("kp_ids").list.len()).alias("position"))
        .explode("kp_ids", "position")
        .rename({"kp_ids": "kp_id"})
        .drop_nulls("kp_id")
        .group_by("path_id", "kp_id")
        .agg(pl.col("position").min())
    )
    links = (
        seed_kp_links.select(pl.col("seed_id").cast(pl.Utf8), pl.col("kp_id").cast(pl.Utf8))
        .join(steps.select("kp_id").unique(), on="kp_id", how="semi")
        .unique()
    )

    # two or more KPs: pairs of the seed's KPs (on some path) against pairs on each path
    seed_pairs = (
        links.join(links, on="seed_id", suffix="_b")
        .filter(pl.col("kp_id") < pl.col("kp_id_b"))
    )
    path_pairs = (
        steps.join(steps, on="path_id", suffix="_b")
        .filter(pl.col("kp_id") < pl.col("kp_id_b"))
        .select("path_id", "kp_id", "kp_id_b", pl.min_horizontal("position", "position_b").alias("first"))
    )
    strong = (
        path_pairs.join(seed_pairs, on=["kp_id", "kp_id_b"])
        .group_by("path_id", "seed_id")
        .agg(pl.len().alias("pairs"), pl.col("first").min().alias("first_position"))
        # c = s(s-1)/2  =>  s = (1 + sqrt(1 + 8c)) / 2
        .select("path_id", "seed_id",
                ((1 + (1 + 8 * pl.col("pairs").cast(pl.Float64)).sqrt()) / 2).round().cast(pl.Int64).alias("strength"),
                "first_position")
    )

    # exactly one KP: the first 2·limit - 1 seeds of each KP are enough (see the docstring)
    heads = links.sort("kp_id", "seed_id").group_by("kp_id", maintain_order=True).head(2 * limit - 1)
    weak = (
        steps.join(heads, on="kp_id")
        .join(strong.select("path_id", "seed_id"), on=["path_id", "seed_id"], how="anti")
        .select("path_id", "seed_id", pl.lit(1, dtype=pl.Int64).alias("strength"),
                pl.col("position").alias("first_position"))
    )
    ranked = (
        pl.concat([strong, weak])
        .sort(["path_id", "strength", "first_position", "seed_id"], descending=[False, True, False, False])
        .group_by("path_id", maintain_order=True)
        .head(limit)
        .group_by("path_id", maintain_order=True)
        .agg(pl.col("seed_id").alias("seed_ids"), pl.col("strength").alias("seed_link_strength"))
    )
    return (
        paths.select("path_id")
        .join(ranked, on="path_id", how="left")
        .with_columns(
            pl.col("seed_ids").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
            pl.col("seed_link_strength").fill_null(pl.lit([], dtype=pl.List(pl.Int64))),
        )
    )
