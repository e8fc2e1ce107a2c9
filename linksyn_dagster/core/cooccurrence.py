"""KP co-occurrence edges: two KPs are linked when they occur in the same seed; the weight is
the number of distinct seeds they share."""

from __future__ import annotations

import polars as pl

__all__ = ["EDGE_SCHEMA", "cooccurrence_edges"]

EDGE_SCHEMA = {"kp_a": pl.Utf8, "kp_b": pl.Utf8, "weight": pl.Int64}


def cooccurrence_edges(seed_kp_links: pl.DataFrame) -> pl.DataFrame:
    """seed_kp_links (seed_id, kp_id) -> edges (kp_a, kp_b, weight), kp_a < kp_b, sorted.

    Duplicate links are ignored, so weight counts distinct seeds. The self-join runs on
    integer codes rather than the id strings: for 1M seeds × ~5 KPs that is ~10M pairs of
    u32 before aggregation instead of ~10M pairs of strings.
    """
    missing = [c for c in ("seed_id", "kp_id") if c not in seed_kp_links.columns]
    if missing:
        raise ValueError(f"cooccurrence_edges: missing columns {missing}")
    links = seed_kp_links.select(pl.col("seed_id").cast(pl.Utf8), pl.col("kp_id").cast(pl.Utf8)).drop_nulls()
    if links.is_empty():
        return pl.DataFrame(schema=EDGE_SCHEMA)

    # Codes are ranks in sorted id order, so "code_a < code_b" is the same as "id_a < id_b".
    kp_ids = links.get_column("kp_id").unique().sort()
    kp_codes = pl.DataFrame({"kp_id": kp_ids, "kp": pl.int_range(0, len(kp_ids), dtype=pl.UInt32, eager=True)})
    seed_ids = links.get_column("seed_id").unique()
    seed_codes = pl.DataFrame({"seed_id": seed_ids, "s": pl.int_range(0, len(seed_ids), dtype=pl.UInt32, eager=True)})
    coded = (
        links.lazy()
        .join(kp_codes.lazy(), on="kp_id")
        .join(seed_codes.lazy(), on="seed_id")
        .select("s", "kp")
        .unique()
    )
    pairs = (
        coded.join(coded, on="s", suffix="_b")
        .filter(pl.col("kp") < pl.col("kp_b"))
        .group_by("kp", "kp_b")
        .agg(pl.len().cast(pl.Int64).alias("weight"))
        .sort("kp", "kp_b")  # the ids' order
        .collect(engine="streaming")  # the pairs of every seed are never all held at once
    )
    return pl.DataFrame({"kp_a": kp_ids.gather(pairs.get_column("kp")), "kp_b": kp_ids.gather(pairs.get_column("kp_b")),
                         "weight": pairs.get_column("weight")}, schema=EDGE_SCHEMA)
