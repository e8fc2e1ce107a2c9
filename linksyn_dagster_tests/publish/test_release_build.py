"""build_release on planted frames, without Dagster or a warehouse: every verified item is
released or dropped with its reason, in the release's order, and the counts agree."""

from __future__ import annotations

from linksyn_dagster.publish.release_build import build_release, wanted_seeds
from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster_tests.test_release_asset import ITEMS, _plan, _seeds, _verified

# the planted items of test_release_asset, and an exact copy of the good one
PLANTED = {**ITEMS, "good_again": ITEMS["good"]}


def test_build_release_drops_each_item_with_its_reason_and_holds_the_cell(tmp_path):
    # one item wanted (the plan's first round), all at level 3: of the two clean items left
    # after the exact duplicate, the first (by qa_id) is released, the other is cell_full
    settings = LinkSynSettings.model_validate({"data_dir": tmp_path, "synthesis": {"difficulty_mix": {"3": 1.0}}})
    verified = _verified(PLANTED)
    seeds = _seeds()
    assert sorted(wanted_seeds(verified).get_column("seed_id")) == ["s1", "s2"]
    build = build_release(verified, seeds=seeds, seed_language=seeds.select("discipline", "language"),
                          benchmarks=None, paths=_plan([f"path_{q}" for q in PLANTED], [3] * len(PLANTED),
                                                       {"physics": 1}), settings=settings)

    assert build.dataset.get_column("qa_id").to_list() == ["good"]
    assert {"tokens", "quality_flags"} <= set(build.dataset.columns)
    assert not {"reasoning", "answer_text", "selected", "judge_answers", "judge_levels", "difficulty_confidence",
                "round"} & set(build.dataset.columns)
    assert {qa_id: (of, reason) for qa_id, of, reason in build.drops.iter_rows()} == {
        "refuted": (None, "verifier_disagrees"), "split": (None, "verifier_no_majority"),
        "lost": (None, "unverified"), "letter_outside": (None, "answer_not_in_choices"),
        "same_choices": (None, "duplicate_choices"), "blank_choice": (None, "empty_choice"),
        "no_key": (None, "answer_missing"), "seed_copy": ("s2", "copies_source_seed"),
        "good_again": ("good", "exact_duplicate"), "new_on_seed": (None, "cell_full"),
    }
    assert build.drops.height + build.dataset.height == verified.height
    assert (build.verifier_dropped, sum(build.unusable.values()), build.source_copies, build.exact_duplicates,
            build.near_duplicates, build.cell_full, build.contaminated) == (3, 4, 1, 1, 0, 1, 0)
    assert build.verdicts == {"agrees": 8, "disagrees": 1, "no_majority": 1, "unverified": 1}
    cells = build.cells
    assert cells.items_wanted == 1 and cells.plan_rounds == 0 and cells.next_round == {}
    assert [(r["discipline"], r["level"], r["target"], r["available"], r["released"], r["shortfall"])
            for r in cells.rows] == [("physics", 3, 1, 2, 1, 0)]
    assert cells.tokens_released == build.dataset.get_column("tokens").sum()

    summary = build.summary(settings, contaminated_seeds=2, seed_sources={"mmlu_csv": 2})
    assert (summary.source_copies, summary.exact_duplicates, summary.contaminated, summary.contaminated_seeds) == \
        (1, 1, 0, 2)
    assert summary.unusable == build.unusable and summary.seed_sources == {"mmlu_csv": 2}


def test_a_build_with_the_item_cache_equals_one_without_and_scores_only_new_or_changed_items(tmp_path, monkeypatch):
    """The scores of each item on its own (copies of its seeds, overlap with an evaluation
    set, tokens) kept between builds: a second build over a changed and a new item scores
    those two only, and every build equals one that scores everything (released items,
    drops, hits, cells)."""
    import polars as pl

    from linksyn_dagster.core import decontam
    from linksyn_dagster.core.decontam import build_index, load_benchmarks
    from linksyn_dagster.publish import release_build
    from linksyn_dagster_tests.core.planting import MMLU_DEV

    settings = LinkSynSettings.model_validate({"data_dir": tmp_path, "synthesis": {"difficulty_mix": {"3": 1.0}}})
    loaded = load_benchmarks([MMLU_DEV])
    benchmarks = (loaded, build_index(loaded))
    copied = loaded.items.row(0, named=True)
    planted = {**PLANTED, "from_mmlu": (copied["question"], copied["choices"], "ABCD"[
        copied["choices"].index(copied["answer_text"])], ["s1"])}
    scored: dict[str, list[int]] = {"find_contamination": [], "qa_tokens": [], "_source_copies": []}
    for name in scored:  # where each is looked up when the build scores
        module = decontam if name == "find_contamination" else release_build
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda frame, *a, _real=real, _name=name, **k: (
            scored[_name].append(frame.height), _real(frame, *a, **k))[1])
    seeds = _seeds()

    def build(items: dict, cache: bool):
        return build_release(_verified(items), seeds=seeds, seed_language=seeds.select("discipline", "language"),
                             benchmarks=benchmarks, paths=_plan([f"path_{q}" for q in items], [3] * len(items),
                                                                {"physics": 2}), settings=settings,
                             cache_dir=tmp_path / "cache" if cache else None)

    def same(a, b) -> None:
        assert a.dataset.equals(b.dataset) and a.drops.equals(b.drops) and a.hits.equals(b.hits)
        assert a.cells.rows == b.cells.rows and a.cells.tokens_released == b.cells.tokens_released

    (tmp_path / "cache").mkdir()
    first = build(planted, cache=True)
    assert first.hits.get_column("item_id").to_list() == ["from_mmlu"]
    assert first.source_copies == 1 and first.dataset.height == 2
    scored = {k: [] for k in scored}
    same(first, build(planted, cache=False))

    question, choices, answer, used = planted["new_on_seed"]
    changed = {**planted, "new_on_seed": (question.replace("6 V", "12 V"), choices, answer, used),
               "extra": ("Which law relates the voltage across a resistor to the current through it?",
                         ["Ohm's law", "Hooke's law", "Snell's law", "Boyle's law"], "A", ["s1"])}
    scored = {k: [] for k in scored}
    again = build(changed, cache=True)
    assert scored["_source_copies"] == [2] and scored["find_contamination"] == [2]  # the two new texts only
    assert sum(scored["qa_tokens"]) <= 2
    same(again, build(changed, cache=False))
