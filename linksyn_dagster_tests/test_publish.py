"""Release files, dataset card and report, from small hand-made frames."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest

from linksyn_dagster.publish.release import write_release
from linksyn_dagster.publish.report import build_report


def _dataset() -> pl.DataFrame:
    return pl.DataFrame({
        "qa_id": ["q1", "q2", "q3"], "discipline": ["physics", "physics", "law"],
        "variant": ["original", "enhanced", "original"], "difficulty": [2, 4, None],
        "question": ["Why does ice float?", "Harder: why does ice float?", "什么是合同？"],
        "choices": [["a", "b", "c", "d"]] * 3, "answer": ["A", "B", "C"],
    })


def test_release_files_card_and_manifest(tmp_path):
    files = write_release(_dataset(), tmp_path / "release", dropped=2)
    written = pl.read_parquet(files.parquet)
    assert written.drop("text").equals(_dataset()) and written.get_column("text")[0].startswith("Question: Why")
    assert len(files.jsonl.read_text().splitlines()) == 3
    card = files.card.read_text()
    assert card.startswith("---\n") and "path: linkqa.parquet" in card  # the card's configs
    assert files.directory == tmp_path / "release" / files.version  # versioned, see publish/test_release.py
    assert "| physics | 2 |" in card and "| unjudged | 1 |" in card and "exact duplicates removed: 2" in card
    manifest = json.loads(files.manifest.read_text())
    assert manifest["rows"] == 3
    assert manifest["files"]["linkqa.parquet"]["sha256"] == hashlib.sha256(files.parquet.read_bytes()).hexdigest()
    assert not list((tmp_path / "release").glob("*.tmp"))


def test_report_numbers():
    paths = pl.DataFrame({"path_id": ["p1", "p2"], "start_discipline": ["physics", "law"],
                          "kp_ids": [["k1", "k2"], ["k2", "k3"]]})
    kps = pl.DataFrame({"kp_id": ["k1", "k2", "k3", "k4"], "primary_discipline": ["physics"] * 4})
    report = build_report(_dataset(), {"physics": 10, "law": 5}, paths, kps, {"physics": 0.5, "law": 0.5},
                          {"physics": {"2": 0.5, "4": 0.5}, "law": {3: 1.0}}, {"qa_synthesis": 1},
                          {"qa_synthesis": {"calls": 3, "prompt_tokens": 100, "completion_tokens": 50,
                                            "reasoning_tokens": 0, "cost_usd": 0.01}},
                          drops={"verifier_disagrees": 2, "near_duplicate": 1})
    s = report.summary
    assert s["items"] == 3 and s["paths"] == 2 and s["knowledge_points"] == 4
    assert s["kp_coverage"] == 0.75  # k4 is on no path
    assert s["kp_usage_gini"] > 0  # usage 1, 2, 1, 0 is uneven
    assert s["total_tokens"] == 150 and s["llm_failures"] == 1
    assert abs(s["max_discipline_deviation"] - (2 / 3 - 0.5)) < 1e-3
    assert "KP coverage **75.0%**" in report.markdown
    assert "| physics | 2 | 0.667 | 0.500 | 0.167 |" in report.markdown
    # difficulty target: physics' mix and law's, weighted 1/2 each: 2 → .25, 3 → .5, 4 → .25;
    # released 2, 4 and one unjudged: |1/3 - .25| · 2 + .5 + 1/3
    assert report.difficulty_l1 == pytest.approx(2 * (1 / 3 - 0.25) + 0.5 + 1 / 3)
    # physics is on its own mix, law (one unjudged item, target all level 3) is 2 away
    assert report.difficulty_l1_worst_discipline == pytest.approx(2.0) and s["difficulty_worst_discipline"] == "law"
    cells = {(c["discipline"], c["level"]): (c["target_items"], c["items"]) for c in report.cells}
    assert cells == {("law", "3"): (1.5, 0), ("law", "unjudged"): (0.0, 1), ("physics", "2"): (0.8, 1),
                     ("physics", "4"): (0.8, 1)}
    assert "| law | 3 | 1.500 | 0 | 1.500 |" in report.markdown
    assert s["verifier_dropped"] == 2 and "| verifier_disagrees | 2 |" in report.markdown
    # no estimate recorded: the section says so
    assert "## Estimate against actual" in report.markdown and "no estimate recorded" in report.markdown
    assert s["estimated_llm_calls"] is None and s["llm_calls"] == 3


def test_report_sets_the_estimate_against_the_calls_made(tmp_path):
    from linksyn_dagster.publish.html_report import render_html_report, ReportSection

    paths = pl.DataFrame({"path_id": ["p1"], "start_discipline": ["physics"], "kp_ids": [["k1"]]})
    kps = pl.DataFrame({"kp_id": ["k1"], "primary_discipline": ["physics"]})
    usage = {"qa_synthesis": {"calls": 3, "prompt_tokens": 500, "completion_tokens": 300, "reasoning_tokens": 0,
                              "cost_usd": 0.0}}
    estimate = [{"stage": "qa_synthesis", "calls": 4, "prompt_tokens": 400, "completion_tokens": 100,
                 "cost_usd": 0.0, "basis": "<defaults>", "seeds": 2, "paths": 4, "paths_basis": "x"}]
    report = build_report(_dataset(), {"physics": 2}, paths, kps, {"physics": 1.0}, {}, {}, usage,
                          estimate=estimate)
    assert report.summary["estimated_llm_calls"] == 4 and report.summary["llm_calls_vs_estimate"] == 0.75
    section = report.markdown.split("## Estimate against actual", 1)[1].split("\n## ", 1)[0]
    assert "| qa_synthesis | 4 | 3 | 0.750 | 500 | 800 | 1.600 |" in section
    assert "| total | 4 | 3 | 0.750 | 500 | 800 | 1.600 |" in section
    html = render_html_report("r", [ReportSection("Estimate against actual", table=[
        {**report.estimate_vs_actual[0], "stage": "<b>x</b>"}])])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_report_costs_per_discipline_and_path():
    paths = pl.DataFrame({"path_id": ["p1", "p2"], "start_discipline": ["physics", "law"],
                          "kp_ids": [["k1", "k2"], ["k2", "k3"]]})
    kps = pl.DataFrame({"kp_id": ["k1", "k2", "k3"], "primary_discipline": ["physics"] * 3})
    by_discipline = pl.DataFrame({"discipline": ["law", "physics"], "calls": [2, 3], "prompt_tokens": [10, 30],
                                  "completion_tokens": [5, 15], "reasoning_tokens": [0, 7], "tokens": [15, 45],
                                  "cost_usd": [0.0004, 0.0012]})
    by_path = pl.DataFrame({"path_id": ["p1", "p2"], "discipline": ["physics", "law"], "calls": [2, 1],
                            "tokens": [40, 20], "cost_usd": [0.0009, 0.0003]})
    report = build_report(_dataset(), {"physics": 10}, paths, kps, {"physics": 1.0}, {}, {}, {},
                          by_discipline, by_path)
    assert report.summary["mean_cost_usd_per_path"] == pytest.approx(0.0006)
    assert report.summary["mean_tokens_per_path"] == 30.0
    md = report.markdown
    assert "| physics | 3 | 30 | 15 | 7 | 0.0012 |" in md  # small costs keep their digits
    assert "| 2 | 30.000 | 40 | 0.0006 | 0.0006 | 0.0009 |" in md
    assert md.index("| p1 | physics |") < md.index("| p2 | law |")  # costliest first


def test_report_tokens_released_against_the_budget_and_the_cost_of_control():
    paths = pl.DataFrame({"path_id": ["p1"], "start_discipline": ["physics"], "kp_ids": [["k1"]]})
    kps = pl.DataFrame({"kp_id": ["k1"], "primary_discipline": ["physics"]})
    dataset = _dataset().with_columns(tokens=pl.Series([40, 60, 100], dtype=pl.Int64))
    usage = {"qa_synthesis": {"calls": 3, "prompt_tokens": 500, "completion_tokens": 300, "reasoning_tokens": 0,
                              "cost_usd": 0.0}}
    report = build_report(dataset, {"physics": 2, "law": 1}, paths, kps, {"physics": 0.75, "law": 0.25}, {}, {},
                          usage, tokens_target=400)
    s = report.summary
    assert s["tokens_released"] == 200 and s["tokens_target"] == 400
    assert s["llm_tokens_per_released_token"] == 4.0  # 800 LLM tokens for 200 released
    assert "| law | 1 | 100 | 100 |" in report.markdown and "| physics | 2 | 100 | 300 |" in report.markdown
    assert "against a budget of **400**" in report.markdown
