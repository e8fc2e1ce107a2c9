"""The linkqa_dataset asset through Dagster on planted items: items the verifier did not
confirm, unusable items and near-copies of their own source seeds are dropped with their
reasons, not shipped; the rest is released, with a card that says how (settings with
secrets masked, the code's commit, the graph version)."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import duckdb
import polars as pl

from linksyn_dagster.definitions import build_resources
from linksyn_dagster.defs.release.assets import linkqa_dataset
from linksyn_dagster.defs.synthesis.assets import VERIFIED_SCHEMA
from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster_tests.conftest import PROJECT_ROOT

SEEDS = [  # seed_id, question, choices, answer
    ("s1", "Which force keeps the planets in orbit around the Sun?", ["Gravity", "Friction", "Magnetism", "Tension"],
     "A"),
    ("s2", "What is the SI unit of electric resistance in a simple circuit?", ["Volt", "Ohm", "Ampere", "Watt"], "B"),
]
GOOD = ["Why does a satellite in a circular orbit keep falling toward Earth without ever reaching it?",
        ["Its tangential speed carries it past the curve of the Earth", "Air drag lifts it", "Gravity vanishes",
         "Its engine pushes it outward"], "A"]
ITEMS = {  # qa_id: question, choices, answer, source seeds
    "good": (*GOOD, ["s1"]),
    "letter_outside": ("A question whose key names a fifth option that does not exist?", ["w", "x", "y", "z"], "E",
                       ["s1"]),
    "same_choices": ("Which of these capitals lies on the river Seine in France?", ["Paris", "paris ", "Rome", "Oslo"],
                     "A", ["s1"]),
    "blank_choice": ("Which element has the chemical symbol Fe in the periodic table?", ["Iron", "—", "Tin", "Lead"],
                     "A", ["s2"]),
    "no_key": ("Which planet is known as the red planet of the solar system?", ["Mars", "Venus", "Pluto", "Ceres"], " ",
               ["s1"]),
    "seed_copy": ("What is the SI unit of electric resistance in a simple circuit ?", ["Volt", "Ohm", "Amp", "Watt"],
                  "B", ["s2"]),
    "new_on_seed": ("A 6 V battery drives 2 A through a resistor: what is its resistance in ohms?",
                    ["3", "12", "4", "8"], "A", ["s2"]),
    "refuted": ("Which gas makes up most of the air that we breathe on Earth today?",
                ["Oxygen", "Nitrogen", "Argon", "Helium"], "A", ["s1"]),
    "split": ("Which metal is liquid at room temperature and normal air pressure?",
              ["Mercury", "Gallium", "Sodium", "Lead"], "A", ["s1"]),
    "lost": ("Which organ pumps blood through the human body and its vessels?",
             ["Heart", "Lung", "Liver", "Kidney"], "A", ["s1"]),
}
# the verifier's answers (k = 3) and the verdict verified_qa gave each item
VERDICTS = {"refuted": (["B", "B", "A"], "disagrees"), "split": (["A", "B", "C"], "no_majority"),
            "lost": (["A"], "unverified")}


def _plan(path_ids: list[str], levels: list[int | None], quotas: dict[str, int]) -> pl.DataFrame:
    """kp_paths as the walk plan gives them: every path of physics, in the first round."""
    params = json.dumps({"quotas": quotas, "available": sorted(quotas), "rounds": []})
    return pl.DataFrame({"path_id": path_ids, "start_discipline": ["physics"] * len(path_ids),
                         "target_difficulty": pl.Series(levels, dtype=pl.Int32), "round": [0] * len(path_ids),
                         "walk_params": [params] * len(path_ids), "graph_version": ["graph-v7"] * len(path_ids)})


def _seeds() -> pl.DataFrame:
    """seed_qa: the SEEDS, in physics."""
    return pl.DataFrame(
        [(i, "physics", "high_school_physics", q, c, a, c["ABCD".index(a)], "en", "mmlu_csv")
         for i, q, c, a in SEEDS],
        schema=["seed_id", "discipline", "subject", "question", "choices", "answer", "answer_text", "language",
                "source"], orient="row")


def _verified(planted: dict | None = None, levels: dict[str, int] | None = None) -> pl.DataFrame:
    """verified_qa: the planted items (ITEMS unless given), in physics, with their VERDICTS."""
    items = pl.DataFrame([{
        "qa_id": qa_id, "discipline": "physics", "path_id": f"path_{qa_id}", "question": q, "choices": c,
        "answer": a, "explanation": "because", "kps_used": [], "path_kp_ids": [], "source_seed_ids": seeds_used,
        "language": "en", "reasoning": "", "model": "m", "prompt_version": "v", "request_key": qa_id,
        "prompt_tokens": 1, "completion_tokens": 1, "reasoning_tokens": 0, "cost_usd": 0.0, "variant": "original",
        "enhanced_from": None, "rewrite_round": 0, "target_difficulty": 3, "difficulty": 3,
        "difficulty_rationale": "", "selected": True, "verifier_model": "m",
        "verifier_answers": VERDICTS.get(qa_id, (["A", "A"],))[0], "verdict": VERDICTS.get(qa_id, (None, "agrees"))[1],
    } for qa_id, (q, c, a, seeds_used) in (planted or ITEMS).items()], schema=VERIFIED_SCHEMA)
    if levels:
        items = items.with_columns(difficulty=pl.Series([levels[q] for q in items.get_column("qa_id")], dtype=pl.Int32))
    return items


def _write_tables(settings: LinkSynSettings, planted: dict | None = None, levels: dict[str, int] | None = None,
                  quotas: dict[str, int] | None = None) -> None:
    seeds, items = _seeds(), _verified(planted, levels)
    paths = _plan([f"path_{qa_id}" for qa_id in (planted or ITEMS)], [3] * items.height,
                  quotas or {"physics": items.height})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as conn:
        for name, frame in (("seed_qa", seeds), ("verified_qa", items), ("kp_paths", paths)):
            conn.register("incoming", frame.to_arrow())
            conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
            conn.unregister("incoming")


def _checkout_commit() -> str:
    """The commit of the code under test, "unknown" when it is not a git checkout."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def test_unusable_items_and_copies_of_their_seeds_are_dropped_with_reasons(tmp_path):
    settings = LinkSynSettings.model_validate({"data_dir": tmp_path / "data", "release": {"near_dup_threshold": 0.69},
                                               "llm": {"api_key": "sk-planted-SECRET"}})
    _write_tables(settings)
    result = dg.materialize([dg.SourceAsset("verified_qa"), linkqa_dataset], resources=build_resources(settings),
                            selection=[linkqa_dataset])
    assert result.success
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        released = {r[0] for r in conn.execute("SELECT qa_id FROM linkqa_dataset").fetchall()}
        drops = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT qa_id, duplicate_of, reason FROM dataset_drops")
                 .fetchall()}
        flags = {f for (fs,) in conn.execute("SELECT quality_flags FROM linkqa_dataset").fetchall() for f in fs}
    assert released == {"good", "new_on_seed"}  # a new question on a seed's topic stays
    assert drops == {
        "letter_outside": (None, "answer_not_in_choices"), "same_choices": (None, "duplicate_choices"),
        "blank_choice": (None, "empty_choice"), "no_key": (None, "answer_missing"),
        "seed_copy": ("s2", "copies_source_seed"), "refuted": (None, "verifier_disagrees"),
        "split": (None, "verifier_no_majority"), "lost": (None, "unverified"),
    }
    assert not flags & {"answer_missing", "answer_not_in_choices", "duplicate_choices", "empty_choice"}
    # the side tables it wrote are reported as their assets, with the rows they hold
    rows = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
            for e in result.get_asset_materialization_events()}
    assert rows == {"linkqa_dataset": len(released), "dataset_drops": len(drops),
                    "decontamination_hits/linkqa_dataset": 0}

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["unusable_dropped"].value == 4 and metadata["source_copies_dropped"].value == 1
    assert metadata["verifier_dropped"].value == 3
    latest = settings.release_dir / "latest"
    card = (latest / "README.md").read_text()
    assert "7 kept (a majority answered the key), 3 removed (disagrees: 1, no_majority: 1, unverified: 1)" in card
    assert "unusable items removed: 4" in card and "near-copies of their own source seeds removed: 1" in card
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["cleaning"]["source_copies"] == 1
    assert manifest["cleaning"]["verdicts"] == {"agrees": 7, "disagrees": 1, "no_majority": 1, "unverified": 1}
    assert sum(manifest["cleaning"]["unusable"].values()) == 4

    # how it was made: the settings the run used (the key masked), the code's commit, the graph
    made = card.split("## How this release was made")[1]
    commit = _checkout_commit()
    assert f"git commit {commit}" in made and metadata["git_commit"].value == commit
    assert manifest["provenance"]["code"]["git_commit"] == commit
    assert "near_dup_threshold: 0.69" in made and "api_key: '**********'" in made
    assert manifest["provenance"]["settings"]["release"]["near_dup_threshold"] == 0.69
    release_files = [p for p in latest.iterdir()]
    assert not [p.name for p in release_files if "sk-planted-SECRET" in p.read_bytes().decode("utf-8", "replace")]
    assert "`graph-v7` (2 items)" in made and metadata["graph_versions"].value == {"graph-v7": 2}
    assert "items written by `m`; answers verified by `m`" in made and "`qa_synthesis@v3`" in made


def test_each_cell_keeps_its_target_and_the_next_round_asks_for_the_shortfall(tmp_path):
    # 4 items wanted (the first round's paths), half at level 3, half at 4; five clean items,
    # all judged 3: two are released, three dropped as cell_full, level 4 is short by two
    settings = LinkSynSettings.model_validate({"data_dir": tmp_path / "data",
                                               "synthesis": {"difficulty_mix": {"3": 0.5, "4": 0.5}}})
    questions = ["How does a lever multiply the force applied at its far end?",
                 "Why do ships made of steel float on sea water?",
                 "What makes the sky look blue on a clear afternoon?",
                 "Which property of a wire sets its electrical resistance per metre?",
                 "When a skater pulls in her arms, why does she spin faster?"]
    items = {f"item{n}": (q, [f"answer {n}", "twice", "never", "always"], "A", ["s1"]) for n, q in enumerate(questions)}
    _write_tables(settings, items, dict.fromkeys([f"item{n}" for n in range(5)], 3), quotas={"physics": 4})
    result = dg.materialize([dg.SourceAsset("verified_qa"), linkqa_dataset], resources=build_resources(settings),
                            selection=[linkqa_dataset])
    assert result.success
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        released = sorted(r[0] for r in conn.execute("SELECT qa_id FROM linkqa_dataset").fetchall())
        full = sorted(r[0] for r in conn.execute("SELECT qa_id FROM dataset_drops WHERE reason = 'cell_full'")
                      .fetchall())
        tokens = conn.execute("SELECT min(tokens), sum(tokens) FROM linkqa_dataset").fetchone()
    assert released == ["item0", "item1"] and full == ["item2", "item3", "item4"]
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["items_wanted"].value == 4 and metadata["cell_full_dropped"].value == 3
    assert metadata["shortfall_items"].value == 2 and metadata["cells_short"].value == 1
    # the 5 paths were all asked for level 3, none for 4: level 4 gets the discipline's yield (1)
    assert metadata["next_round_request"].value == {"physics": {"4": 2}}
    why = {(r.data["level"], r.data["why_short"]) for r in metadata["cells"].value.records}
    assert why == {(3, ""), (4, "round 1 asks 2 more paths for it; no path was asked for it yet")}, why
    assert tokens[0] > 10 and metadata["tokens_released"].value == tokens[1]
    assert metadata["llm_calls"].value == 0  # nothing in llm_usage: the items were planted


def test_the_contamination_check_reruns_alone_and_fails_once_an_evaluation_set_holds_a_released_item(tmp_path):
    """A blocking check of its own: after a release, an evaluation set that holds one of its
    items is added; the check, run alone (nothing re-materialized), fails and counts it."""
    from linksyn_dagster.defs.release.assets import no_benchmark_contamination

    settings = LinkSynSettings.model_validate({"data_dir": tmp_path / "data"})
    _write_tables(settings)
    assets = [dg.SourceAsset("verified_qa"), linkqa_dataset, no_benchmark_contamination]
    result = dg.materialize(assets, resources=build_resources(settings), selection=[linkqa_dataset])
    # the check runs with the release (selecting an asset selects its checks)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_benchmark_contamination"]
    assert evaluation.passed and evaluation.metadata["benchmarks"].value == "none configured"

    bench = tmp_path / "eval_test.csv"  # MMLU's layout: question, four choices, answer letter
    bench.write_text(f'"{GOOD[0]}",{",".join(GOOD[1])},A\n', encoding="utf-8")
    with_bench = settings.model_copy(update={"decontam": settings.decontam.model_copy(
        update={"benchmark_paths": [bench]})})
    rerun = dg.materialize(assets, resources=build_resources(with_bench), raise_on_error=False,
                           selection=dg.AssetSelection.checks(no_benchmark_contamination))
    assert not rerun.get_asset_materialization_events()  # the release itself was not built again
    (evaluation,) = rerun.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["contaminated_items_in_release"].value == 1
    assert evaluation.metadata["benchmarks"].value == "1 items"
