"""The release directory: versioned layout with a ``latest`` pointer, files the ``datasets``
library loads without options (Parquet, JSONL, the directory through the card; the training
exports: the ``text`` column and the ``messages`` chats), a card in the Hub format whose
declared features are the loaded ones and that says how the release was made, and a
manifest that checks out.

``datasets`` runs in a subprocess (see ``hf_loading``).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime

import polars as pl
import yaml

from linksyn_dagster.publish.exports import load_templates
from linksyn_dagster.publish.provenance import CodeVersion, ReleaseProvenance, masked_settings
from linksyn_dagster.publish.release import ReleaseSummary, dataset_card, size_category, write_release
from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster_tests.publish.hf_loading import load_with_datasets

WHEN = datetime(2026, 8, 1, 9, 30, tzinfo=UTC)


def _dataset(rows: int = 6) -> pl.DataFrame:
    """Release-shaped rows; originals first, so the first rows have no enhanced_from and
    empty kps/flags: the case JSON type inference trips over."""
    half = rows // 2
    return pl.DataFrame({
        "qa_id": [f"q{i}" for i in range(rows)],
        "discipline": ["physics", "law", "history"] * (rows // 3) + ["physics"] * (rows % 3),
        "variant": ["original"] * half + ["rewrite"] * (rows - half),
        "enhanced_from": [None] * half + [f"q{i - half}" for i in range(half, rows)],
        "question": [f"Question {i}: why does ice float on water?" if i % 2 else f"问题 {i}：冰为什么浮在水上？"
                     for i in range(rows)],
        "choices": [["lower density", "higher density", "surface tension", "magnetism"]] * rows,
        "answer": ["A"] * rows,
        "difficulty": pl.Series([None] * half + [3] * (rows - half), dtype=pl.Int32),
        "kps_used": [[]] * half + [["density", "buoyancy"]] * (rows - half),
        "cost_usd": [0.001 * i for i in range(rows)],
        "quality_flags": [[]] * (rows - 1) + [["question_too_short"]],
    })


def test_versioned_layout_latest_pointer_and_manifest(tmp_path):
    root = tmp_path / "release"
    first = write_release(_dataset(), root, ReleaseSummary(exact_duplicates=1, near_duplicates=2), now=WHEN)
    jsonl_sha = hashlib.sha256(first.jsonl.read_bytes()).hexdigest()
    assert first.version == f"20260801-{jsonl_sha[:12]}"
    assert first.directory == root / first.version
    assert (root / "latest").resolve() == first.directory.resolve()
    assert (root / "LATEST").read_text().strip() == first.version
    assert sorted(p.name for p in first.directory.iterdir()) == ["README.md", "linkqa.jsonl", "linkqa.parquet",
                                                                  "linkqa_messages.jsonl", "linkqa_messages.parquet",
                                                                  "manifest.json"]
    manifest = json.loads(first.manifest.read_text())
    assert manifest["version"] == first.version and manifest["rows"] == 6
    assert manifest["rows_per_discipline"] == {"history": 2, "law": 2, "physics": 2}
    for name, entry in manifest["files"].items():
        data = (first.directory / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert manifest["files"]["linkqa.parquet"]["rows"] == manifest["files"]["linkqa.jsonl"]["rows"] == 6
    assert manifest["files"]["linkqa_messages.parquet"]["rows"] == manifest["files"]["linkqa_messages.jsonl"]["rows"] == 6
    assert manifest["provenance"]["templates"] == {"text": "pretraining@v1", "messages": "chat@v1"}
    assert manifest["cleaning"]["near_duplicates"] == 2

    # the same rows again the same day: the same directory, rewritten in place
    again = write_release(_dataset(), root, ReleaseSummary(exact_duplicates=1, near_duplicates=2), now=WHEN)
    assert again.version == first.version
    # other rows: a new version, and latest follows it; the old one stays
    newer = write_release(_dataset(9), root, now=WHEN)
    assert newer.version != first.version and first.directory.exists()
    assert os.readlink(root / "latest") == newer.version
    assert (root / "LATEST").read_text().strip() == newer.version
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_rows_that_set_column_types_come_first(tmp_path):
    files = write_release(_dataset(), tmp_path, now=WHEN)
    written = pl.read_parquet(files.parquet)
    # the first enhanced row (the first with enhanced_from, kps, difficulty) and the flagged
    # last row moved to the front; the rest keeps its order
    assert written.get_column("qa_id").to_list() == ["q0", "q3", "q5", "q1", "q2", "q4"]
    assert written.drop("text").sort("qa_id").equals(_dataset().sort("qa_id"))
    first_line = json.loads(files.jsonl.read_text().splitlines()[1])
    assert first_line["enhanced_from"] == "q0" and first_line["kps_used"] == ["density", "buoyancy"]


def test_release_loads_with_datasets_and_the_card_matches(tmp_path):
    files = write_release(_dataset(), tmp_path / "release", now=WHEN)
    latest = str(tmp_path / "release" / "latest")
    loaded = load_with_datasets(tmp_path, [("parquet", str(files.parquet)), ("json", str(files.jsonl)),
                                            ("dir", latest), ("json", str(files.messages_jsonl), "messages"),
                                            ("dir:messages", latest)])
    for kind in ("parquet", "json", "dir"):
        assert loaded[kind]["rows"] == 6
        features = loaded[kind]["features"]
        assert features["choices"]["_type"] == "List" and features["choices"]["feature"]["dtype"] == "string"
        assert features["qa_id"]["dtype"] == "string"  # not large_string
    assert loaded["parquet"]["first"]["choices"] == ["lower density", "higher density", "surface tension", "magnetism"]
    assert loaded["json"]["last"]["quality_flags"] == []
    assert loaded["card"] == {"license": "other", "language": ["en", "zh"], "declared_equals_loaded": True,
                              "num_examples": 6}
    # the training exports: `text` beside the columns, and one chat per item
    for kind in ("parquet", "json", "dir"):
        assert loaded[kind]["features"]["text"]["dtype"] == "string"
    text = loaded["parquet"]["first"]["text"]
    assert text.startswith(f"Question: {loaded['parquet']['first']['question']}\n\nA. lower density\nB. higher")
    assert "\n\nAnswer: A. lower density" in text
    for kind in ("messages", "dir:messages"):
        assert loaded[kind]["rows"] == 6
        assert loaded[kind]["features"]["messages"]["_type"] == "List"
        assert loaded[kind]["features"]["messages"]["feature"] == {
            "role": {"dtype": "string", "_type": "Value"}, "content": {"dtype": "string", "_type": "Value"}}
    chat = loaded["messages"]["first"]
    assert chat["qa_id"] == loaded["parquet"]["first"]["qa_id"]  # the same items, in the same order
    assert [turn["role"] for turn in chat["messages"]] == ["system", "user", "assistant"]
    assert chat["messages"][1]["content"].startswith(loaded["parquet"]["first"]["question"])
    assert chat["messages"][2]["content"].startswith("The answer is A. lower density")


def test_json_lines_load_when_a_column_is_empty_for_a_whole_block(tmp_path):
    # > 10 MB: datasets reads JSON in 10 MB blocks and takes column types from the first one
    rows = 12_000
    data = _dataset(rows).with_columns(explanation=pl.lit("Ice is less dense than liquid water. " * 25))
    files = write_release(data, tmp_path / "release", now=WHEN)
    assert files.jsonl.stat().st_size > 11_000_000
    loaded = load_with_datasets(tmp_path, [("json", str(files.jsonl))])
    assert loaded["json"]["rows"] == rows
    assert loaded["json"]["features"]["enhanced_from"]["dtype"] == "string"
    assert loaded["json"]["last"]["kps_used"] == ["density", "buoyancy"]


def test_card_content():
    summary = ReleaseSummary(exact_duplicates=3, near_duplicates=4, near_dup_threshold=0.7, contaminated=5,
                             contaminated_seeds=1, benchmark_files=["/data/mmlu/test"], benchmark_items=14042,
                             hits_by_benchmark={"anatomy_test.csv": 4, "virology_test.csv": 1},
                             seed_sources={"mmlu_csv": 285, "cmmlu_csv": 335},
                             quality_flags={"question_too_short": 1, "empty_choice": 0}, license="cc-by-nc-sa-4.0")
    card = dataset_card(_dataset(), summary, version="20260801-abc")
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "cc-by-nc-sa-4.0" and header["language"] == ["en", "zh"]
    assert header["size_categories"] == ["n<1K"]
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "linkqa.parquet"}]
    features = {f["name"]: f for f in header["dataset_info"]["features"]}
    assert features["choices"] == {"name": "choices", "list": "string"}
    assert features["difficulty"] == {"name": "difficulty", "dtype": "int32"}
    assert features["cost_usd"] == {"name": "cost_usd", "dtype": "float64"}
    for text in ("exact duplicates removed: 3", "near-duplicates removed: 4 (MinHash-LSH", "Jaccard >= 0.7",
                 "5 items removed after checking against\n  14042 benchmark items (`test`)",
                 "seeds found in a benchmark: 1", "| anatomy_test.csv | 4 |", "| mmlu_csv | 285 |",
                 "| question_too_short | 1 |", "| physics | 1 | 1 |", "| unjudged | 3 |", "version: 20260801-abc",
                 "originals / rewrites toward their level: 3 / 3"):
        assert text in card, text
    assert "empty_choice" not in card.split("## Quality signals")[1].split("##")[0]  # zero rows are left out
    assert "## How this release was made\n\n_(not recorded)_" in card  # not told: not invented
    assert "linkqa_messages" not in card  # no templates given: no training exports


def test_card_says_how_the_release_was_made():
    settings = LinkSynSettings.model_validate({"data_dir": "/data", "llm": {"model": "openai/m1",
                                                                            "api_key": "sk-planted-SECRET"},
                                               "release": {"near_dup_threshold": 0.65}})
    provenance = ReleaseProvenance(
        code=CodeVersion("0.1.0", "0123456789abcdef0123456789abcdef01234567", dirty=True),
        settings=masked_settings(settings, ("release", "llm")), prompts={"qa_synthesis": "qa_synthesis@v2"},
        graph_versions={"g-abc": 6})
    data = _dataset().with_columns(model=pl.lit("openai/m1"), verifier_model=pl.lit("openai/v2"))
    card = dataset_card(data, provenance=provenance, templates=load_templates())
    made = card.split("## How this release was made")[1].split("## License")[0]
    for text in ("git commit 0123456789abcdef0123456789abcdef01234567, with uncommitted changes",
                 "`g-abc` (6 items)", "items written by `openai/m1`; answers verified by `openai/v2`",
                 "`qa_synthesis@v2`", "`pretraining@v1` (the `text` column), `chat@v1` (`linkqa_messages.*`)",
                 "near_dup_threshold: 0.65", "model: openai/m1", "api_key: '**********'"):
        assert text in made, text
    assert "sk-planted-SECRET" not in card and "neo4j" not in made  # only the sections asked for
    settings_block = yaml.safe_load(made.split("```yaml\n")[1].split("```")[0])
    assert settings_block["data_dir"] == "/data" and settings_block["release"]["near_dup_threshold"] == 0.65
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"][1] == {"config_name": "messages",
                                    "data_files": [{"split": "train", "path": "linkqa_messages.parquet"}]}


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 250_000, 3_000_000_000)] == \
        ["n<1K", "n<1K", "1K<n<10K", "100K<n<1M", "1B<n<10B"]
