"""The run estimate: its counts follow the run's shape (a KP extraction per seed, a synthesis
per path, per-path ratios), measured ratios and tokens replace the defaults, and a token
budget sizes the paths."""

from __future__ import annotations

import pytest

from linksyn_dagster.estimate import DEFAULT_PATHS_PER_ITEM, DEFAULT_TOKENS, estimate_run
from linksyn_dagster.settings import LinkSynSettings


def _settings(tmp_path, **sections) -> LinkSynSettings:
    base = LinkSynSettings(data_dir=tmp_path)
    return base.model_copy(update={name: getattr(base, name).model_copy(update=values)
                                   for name, values in sections.items()})


def test_without_history_the_counts_follow_the_settings(tmp_path):
    settings = _settings(tmp_path, walk={"paths_total": 40}, release={"fill_cells": False},
                         synthesis={"judge_samples": 3, "verifier_samples": 3, "max_rewrites": 1})
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
