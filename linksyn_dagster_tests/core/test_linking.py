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
