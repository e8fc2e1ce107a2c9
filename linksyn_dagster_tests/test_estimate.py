"""The run estimate: its counts follow the run's shape (a KP extraction per seed, a synthesis
per path, per-path ratios), measured ratios and tokens replace the defaults, and a token
budget sizes the paths; after a run, the estimate is set against the calls made."""

from __future__ import annotations

import pytest

from linksyn_dagster.estimate import (
    DEFAULT_PATHS_PER_ITEM, DEFAULT_TOKENS, against_actual, estimate_frame, estimate_run,
)
from linksyn_dagster.settings import LinkSynSettings


def _settings(tmp_path, **sections) -> LinkSynSettings:
    base = LinkSynSettings(data_dir=tmp_path)
    return base.model_copy(update={name: getattr(base, name).model_copy(update=values)
                                   for name, values in sections.items()})


def test_without_history_the_counts_follow_the_settings(tmp_path):
    settings = _settings(tmp_path, walk={"paths_total": 40}, release={"fill_cells": False},
                         synthesis={"judge_samples": 3, "verifier_samples": 3, "max_rewrites": 1, "judge_batch": 1})
    stages = {s.stage: s for s in estimate_run(settings, seeds=250, seed_tokens_per_item=None).stages}
    assert stages["kp_extraction"].calls == 250 and stages["qa_synthesis"].calls == 40
    assert stages["difficulty_rewrite"].calls == 20  # half the paths, by default
    assert stages["difficulty_judge"].calls == 120  # about two readings of each of 1.5 versions a path
    assert stages["kp_extraction"].prompt_tokens == 250 * DEFAULT_TOKENS["kp_extraction"][0]
    assert all(s.cost_usd is None and s.basis == "defaults" for s in stages.values())
    # the open loop: no level asked, nothing rewritten
    open_loop = _settings(tmp_path, walk={"paths_total": 40}, release={"fill_cells": False},
                          synthesis={"steer_difficulty": False})
    assert {s.stage: s.calls for s in estimate_run(open_loop, 250, None).stages}["difficulty_rewrite"] == 0
    # a judge call reads up to judge_batch questions of a discipline: per discipline, a wave of
    # first readings and one of second readings, of the originals and of the rewrites
    batched = _settings(tmp_path, walk={"paths_total": 40, "target_distribution": {"physics": 1, "law": 1}},
                        release={"fill_cells": False},
                        synthesis={"judge_samples": 3, "max_rewrites": 1, "judge_batch": 4})
    judge = {s.stage: s for s in estimate_run(batched, 250, None).stages}["difficulty_judge"]
    # 20 originals a discipline: 5 + 5 calls; 10 rewrites: 2.5 + 2.5; two disciplines
    assert judge.calls == 30 and judge.prompt_tokens == 30 * 4 * DEFAULT_TOKENS["difficulty_judge"][0]
    # a synthesis call writes `candidates` versions: its completion is theirs
    written = _settings(tmp_path, walk={"paths_total": 40}, release={"fill_cells": False},
                        synthesis={"candidates": 3})
    synthesis = {s.stage: s for s in estimate_run(written, 250, None).stages}["qa_synthesis"]
    assert synthesis.calls == 40 and synthesis.completion_tokens == 40 * 3 * DEFAULT_TOKENS["qa_synthesis"][1]


def test_measured_ratios_and_tokens_replace_the_defaults_and_rounds_grow_the_plan(tmp_path):
    settings = _settings(tmp_path, walk={"paths_total": 10}, release={"fill_cells": True, "max_rounds": 3})
    history = {"paths": 30, "first_round_paths": 20, "items": 15,
               "calls": {"qa_synthesis": 30, "difficulty_judge": 90, "kp_extraction": 500},
               "tokens": {"difficulty_judge": (100.0, 10.0)}}
    estimate = estimate_run(settings, seeds=7, seed_tokens_per_item=None, history=history,
                            price=lambda stage, prompt, completion: prompt * 1e-6)
    stages = {s.stage: s for s in estimate.stages}
    assert estimate.paths == 15  # 10 paths asked, grown 1.5x by rounds as measured
    assert stages["difficulty_judge"].calls == 45 and stages["difficulty_judge"].prompt_tokens == 4500
    assert stages["difficulty_judge"].basis == "measured here" and stages["qa_synthesis"].basis == "defaults"
    assert stages["kp_extraction"].calls == 7  # a call per seed, whatever was measured
    assert stages["difficulty_judge"].cost_usd == pytest.approx(0.0045)


def test_a_token_budget_sizes_the_paths(tmp_path):
    held = _settings(tmp_path, release={"target_tokens": 10_000, "fill_cells": True})
    assert estimate_run(held, 5, seed_tokens_per_item=100.0).paths == round(100 * DEFAULT_PATHS_PER_ITEM)
    open_release = _settings(tmp_path, release={"target_tokens": 10_000, "fill_cells": False})
    assert estimate_run(open_release, 5, seed_tokens_per_item=100.0).paths == 100


def test_the_estimate_against_actual_per_stage_and_in_all(tmp_path):
    settings = _settings(tmp_path, walk={"paths_total": 10}, release={"fill_cells": False},
                         synthesis={"verifier_samples": 0, "candidates": 1})
    estimated = estimate_frame(estimate_run(settings, seeds=20, seed_tokens_per_item=None,
                                            price=lambda stage, prompt, completion: (prompt + completion) * 1e-6))
    assert estimated.get_column("stage").to_list()[:2] == ["kp_extraction", "qa_synthesis"]
    assert set(estimated.get_column("seeds")) == {20} and set(estimated.get_column("paths")) == {10}
    rows = {r["stage"]: r for r in estimated.to_dicts()}
    actual = {"kp_extraction": {"calls": 20, "prompt_tokens": 9000, "completion_tokens": 1000, "cost_usd": 0.01},
              "qa_synthesis": {"calls": 15, "prompt_tokens": 100, "completion_tokens": 50, "cost_usd": 0.002}}
    table = {r["stage"]: r for r in against_actual(estimated.to_dicts(), actual)}
    # every stage estimated, in pipeline order, then the total; one none asked for stays at 0 made
    assert list(table) == ["kp_extraction", "qa_synthesis", "difficulty_judge", "difficulty_rewrite",
                           "answer_verification", "total"]
    synthesis = table["qa_synthesis"]
    assert (synthesis["estimated_calls"], synthesis["calls"], synthesis["calls_ratio"]) == (10, 15, 1.5)
    assert synthesis["estimated_tokens"] == 10 * sum(DEFAULT_TOKENS["qa_synthesis"]) and synthesis["tokens"] == 150
    assert synthesis["cost_ratio"] == pytest.approx(0.002 / rows["qa_synthesis"]["cost_usd"], abs=0.01)
    assert table["answer_verification"]["estimated_calls"] == 0 and table["answer_verification"]["calls_ratio"] is None
    total = table["total"]
    assert total["estimated_calls"] == sum(r["calls"] for r in rows.values()) and total["calls"] == 35
    assert total["calls_ratio"] == round(35 / total["estimated_calls"], 3)
    assert total["estimated_cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows.values()))
    # a stage made but not estimated shows up with nothing estimated; an unknown price stays unknown
    unpriced = [{**r, "cost_usd": None} if r["stage"] == "qa_synthesis" else r for r in estimated.to_dicts()]
    table = {r["stage"]: r for r in against_actual(unpriced, {**actual, "other": {"calls": 2}})}
    assert table["other"]["estimated_calls"] == 0 and table["other"]["calls"] == 2
    assert table["qa_synthesis"]["cost_ratio"] is None and table["total"]["estimated_cost_usd"] is None
    assert against_actual([], {}) == []
