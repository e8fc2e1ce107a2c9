"""fill_cells on planted frames: a short cell's why_short names the round limit of the walk
plan the release was built from (its run config), not the setting, which only stands in for
a plan that did not record one."""

from __future__ import annotations

import json

import polars as pl

from linksyn_dagster.publish.release_cells import fill_cells
from linksyn_dagster.settings import LinkSynSettings


def _paths(**plan) -> pl.DataFrame:
    """Four physics paths of the first round, all asked for level 3, walked with ``plan``."""
    params = json.dumps({"quotas": {"physics": 4}, "available": ["physics"], "rounds": [], **plan})
    return pl.DataFrame({"path_id": [f"p{n}" for n in range(4)], "start_discipline": ["physics"] * 4,
                         "target_difficulty": pl.Series([3] * 4, dtype=pl.Int32), "round": [0] * 4,
                         "walk_params": [params] * 4})


def _kept() -> pl.DataFrame:
    """Two clean items of those paths, both judged level 3."""
    return pl.DataFrame({"qa_id": ["q0", "q1"], "path_id": ["p0", "p1"], "discipline": ["physics"] * 2,
                         "difficulty": pl.Series([3, 3], dtype=pl.Int32),
                         "question": ["Why does ice float on water?", "What bends light in a prism?"],
                         "choices": [["a", "b", "c", "d"]] * 2, "answer": ["A", "A"], "explanation": ["x", "y"]})


def _why(paths: pl.DataFrame, settings: LinkSynSettings) -> dict[int, str]:
    _, _, cells = fill_cells(_kept(), paths, settings)
    return {row["level"]: row["why_short"] for row in cells.rows}


def test_why_short_names_the_round_limit_of_the_plan_it_was_built_from(tmp_path):
    # 4 items wanted, half at level 3, half at 4: level 4 misses both; the setting allows 3 rounds
    settings = LinkSynSettings.model_validate({"data_dir": tmp_path, "release": {"max_rounds": 3},
                                               "synthesis": {"difficulty_mix": {"3": 0.5, "4": 0.5}}})
    launched = _why(_paths(max_rounds=0), settings)  # the launchpad's max_rounds: 0
    assert launched[3] == ""
    assert launched[4] == ("round limit: 0 of 0 further rounds walked (the walk plan's max_rounds: its run config, "
                           "else LINKSYN_RELEASE__MAX_ROUNDS); no path was asked for it yet")
    # a plan that allows rounds, and one that recorded no limit (the setting's 3): round 1 asks for it
    assert _why(_paths(max_rounds=1), settings)[4].startswith("round 1 asks 2 more paths for it")
    assert _why(_paths(), settings)[4].startswith("round 1 asks 2 more paths for it")


def test_no_clean_item_releases_nothing_and_asks_for_every_cell(tmp_path):
    """Every item dropped before the cells (none verified, say): an empty release whose cells
    are all short, not a failed build (the 1M scale run's release failed here)."""
    settings = LinkSynSettings.model_validate({"data_dir": tmp_path,
                                               "synthesis": {"difficulty_mix": {"3": 0.5, "4": 0.5}}})
    kept, full, cells = fill_cells(_kept().clear(), _paths(max_rounds=1), settings)
    assert kept.is_empty() and full.is_empty()
    assert {row["level"]: row["released"] for row in cells.rows} == {3: 0, 4: 0}
    assert all(row["why_short"] for row in cells.rows)
