"""Diffusion inputs: which seeds a sampled path pulls into its synthesis prompt."""

from __future__ import annotations

import polars as pl


def linked_seeds(paths: pl.DataFrame, seed_kp_links: pl.DataFrame, limit: int) -> pl.DataFrame:
    """For every path (``path_id``, ``kp_ids``), the seeds holding its KPs, strongest links
    first: seeds holding more of the path's KPs rank higher, then seeds holding earlier KPs
    of the path, then ``seed_id`` for a stable order. At most ``limit`` seeds per path.

    Returns ``path_id``, ``seed_ids`` (list, ranked) and ``seed_link_strength`` (list of the
    number of path KPs each seed holds). Paths without linked seeds get empty lists."""
    if paths.is_empty():
        return pl.DataFrame(schema={"path_id": pl.Utf8, "seed_ids": pl.List(pl.Utf8),
                                    "seed_link_strength": pl.List(pl.Int64)})
    steps = (
        paths.select("path_id", "kp_ids")
        .with_columns(pl.int_ranges(0, pl.col("kp_ids").list.len()).alias("position"))
        .explode("kp_ids", "position")
        .rename({"kp_ids": "kp_id"})
    )
    ranked = (
        steps.join(seed_kp_links.select("seed_id", "kp_id"), on="kp_id", how="inner")
        .group_by("path_id", "seed_id")
        .agg(pl.len().cast(pl.Int64).alias("strength"), pl.col("position").min().alias("first_position"))
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
