"""Writing the release: Parquet + JSONL of the dataset and a dataset card."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from linksyn_dagster.core.prompting import format_choices

DATA_FILES = ("linkqa.parquet", "linkqa.jsonl")

FIELD_DOCS = {
    "qa_id": "stable id of the item (hash of the request that produced it)",
    "discipline": "discipline the path that produced the item started in",
    "variant": "`original` (synthesized from a path) or `enhanced` (harder rewrite of an original)",
    "enhanced_from": "qa_id of the original an enhanced item rewrites",
    "question / choices / answer / explanation": "the multiple-choice item; `answer` is the correct letter",
    "difficulty": "1-5 on the judge's fixed scale (null if the judge failed)",
    "kps_used": "knowledge points the model says the item combines",
    "path_id / path_kp_ids": "the KP-graph walk the item was synthesized from (`kp_paths`)",
    "source_seed_ids": "seeds linked along the path that the prompt showed the model (`seed_qa`)",
    "model / prompt_version": "who wrote it, with which versioned prompt",
    "prompt_tokens / completion_tokens / reasoning_tokens / cost_usd": "what the item cost",
}


@dataclass(frozen=True)
class ReleaseFiles:
    directory: Path
    parquet: Path
    jsonl: Path
    card: Path
    manifest: Path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table(df: pl.DataFrame, key: str) -> str:
    if df.is_empty():
        return "_(none)_"
    counts = df.group_by(key).len().sort(["len", key], descending=[True, False])
    lines = [f"| {key} | items |", "|---|---:|"]
    lines += [f"| {value} | {count} |" for value, count in counts.iter_rows()]
    return "\n".join(lines)


def dataset_card(dataset: pl.DataFrame, dropped: int, name: str = "LinkQA (LinkSyn)") -> str:
    fields = "\n".join(f"- `{k}`: {v}" for k, v in FIELD_DOCS.items())
    example = ""
    if dataset.height:
        row = dataset.row(0, named=True)
        example = (f"\n## Example\n\n> {row['question']}\n>\n> "
                   + format_choices(row["choices"]).replace("\n", "\n> ")
                   + f"\n>\n> Answer: {row['answer']}\n")
    return f"""---
pretty_name: {name}
size_categories: [n<1K]
task_categories: [question-answering]
configs:
  - config_name: default
    data_files: linkqa.parquet
---

# {name}

Synthetic multiple-choice QA written by a language model from walks over a knowledge-point
co-occurrence graph (the LinkQA method, arXiv 2508.01317): every item combines several
knowledge points and is traceable to the seed questions linked along its path.

- items: {dataset.height}
- exact duplicates removed: {dropped}
- disciplines: {dataset.get_column("discipline").n_unique() if dataset.height else 0}

## Items per discipline

{_table(dataset, "discipline")}

## Items per difficulty

{_table(dataset.with_columns(pl.col("difficulty").cast(pl.Utf8).fill_null("unjudged")), "difficulty")}

## Fields and provenance

{fields}
{example}
## License and use

Synthetic data derived from the seed sets you loaded: their licenses apply to derived items
(e.g. MMLU is MIT, CMMLU is CC BY-NC-SA 4.0). Items written by a small local model show the
pipeline working, not output quality.
"""


def write_release(dataset: pl.DataFrame, directory: Path, dropped: int) -> ReleaseFiles:
    """Write the files next to each other, atomically replacing an earlier release."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ReleaseFiles(directory, directory / DATA_FILES[0], directory / DATA_FILES[1],
                         directory / "README.md", directory / "manifest.json")
    for path, write in ((files.parquet, lambda p: dataset.write_parquet(p)),
                        (files.jsonl, lambda p: dataset.write_ndjson(p)),
                        (files.card, lambda p: p.write_text(dataset_card(dataset, dropped), encoding="utf-8"))):
        tmp = path.with_name(path.name + ".tmp")
        write(tmp)
        tmp.replace(path)
    manifest = {
        "rows": dataset.height,
        "files": {p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size}
                  for p in (files.parquet, files.jsonl, files.card)},
    }
    files.manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return files
