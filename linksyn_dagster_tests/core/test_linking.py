import numpy as np
import pytest
import polars as pl

from linksyn_dagster.core.linking import linked_seeds


def test_seeds_holding_more_path_kps_rank_first_and_limit_applies():
    paths = pl.DataFrame({"path_id": ["p1", "p2", "p3"],
                          "kp_ids": [["a", "b", "c"], ["c"], ["zzz"]]})
    links = pl.DataFrame({
        "seed_id": ["s1", "s2", "s2", "s3", "s3", "s3", "s4", "s5"],
        "kp_id":   ["c",  "a",  "b",  "a",  "b",  "c",  "a",  "c"],
    })
    result = {r["path_id"]: r for r in linked_seeds(paths, links, limit=3).iter_rows(named=True)}
    # s3 holds all three KPs, s2 two; s1/s4/s5 one each: s4 holds the earliest KP (a)
    assert result["p1"]["seed_ids"] == ["s3", "s2", "s4"]
    assert result["p1"]["seed_link_strength"] == [3, 2, 1]
    assert result["p2"]["seed_ids"] == ["s1", "s3", "s5"]
    assert result["p3"]["seed_ids"] == [] and result["p3"]["seed_link_strength"] == []


def test_empty_paths_give_empty_frame_with_schema():
    out = linked_seeds(pl.DataFrame(schema={"path_id": pl.Utf8, "kp_ids": pl.List(pl.Utf8)}),
                       pl.DataFrame(schema={"seed_id": pl.Utf8, "kp_id": pl.Utf8}), limit=4)
    assert out.is_empty() and out.columns == ["path_id", "seed_ids", "seed_link_strength"]


def _reference(paths: pl.DataFrame, links: pl.DataFrame, limit: int) -> dict[str, tuple[list[str], list[int]]]:
    """The ranking by its definition: every (path, seed) pair scored by a full join."""
    steps = (paths.with_columns(pl.int_ranges(0, pl.col("kp_ids").list.len()).alias("position"))
             .explode("kp_ids", "position").rename({"kp_ids": "kp_id"}))
    ranked = (steps.join(links, on="kp_id")
              .group_by("path_id", "seed_id")
              .agg(pl.len().cast(pl.Int64).alias("strength"), pl.col("position").min().alias("first"))
              .sort(["path_id", "strength", "first", "seed_id"], descending=[False, True, False, False])
              .group_by("path_id", maintain_order=True).head(limit)
              .group_by("path_id", maintain_order=True).agg("seed_id", "strength"))
    out = {p: ([], []) for p in paths.get_column("path_id").to_list()}
    out.update({r["path_id"]: (r["seed_id"], r["strength"]) for r in ranked.iter_rows(named=True)})
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit", [1, 2, 4])
def test_bounded_ranking_equals_the_full_join(seed, limit):
    """Popular KPs (held by most seeds) and seeds sharing several KPs with a path: the pair
    and head shortcut ranks exactly as the full path x seed join."""
    rng = np.random.default_rng(seed)
    kps = [f"k{i:02d}" for i in range(25)]
    popularity = 1.0 / np.arange(1, 26)  # a few KPs in most seeds
    popularity /= popularity.sum()
    link_rows = []
    for s in range(300):
        held = rng.choice(25, size=int(rng.integers(2, 7)), replace=False, p=popularity)
        link_rows += [(f"s{s:03d}", kps[k]) for k in held]
    links = pl.DataFrame(link_rows, schema={"seed_id": pl.Utf8, "kp_id": pl.Utf8}, orient="row")
    paths = pl.DataFrame({
        "path_id": [f"p{i}" for i in range(60)],
        "kp_ids": [[kps[k] for k in rng.choice(25, size=int(rng.integers(1, 6)), replace=False)] for _ in range(60)],
    })
    result = linked_seeds(paths, links, limit=limit)
    assert result.get_column("path_id").to_list() == paths.get_column("path_id").to_list()
    expected = _reference(paths, links, limit)
    for row in result.iter_rows(named=True):
        assert (row["seed_ids"], row["seed_link_strength"]) == expected[row["path_id"]], row["path_id"]
