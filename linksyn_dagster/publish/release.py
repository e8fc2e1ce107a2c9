"""Writing the release: versioned Parquet + JSONL, a Hugging Face dataset card, a manifest.

Layout under the release root (``<data dir>/release``)::

    <version>/linkqa.parquet   the dataset (one split, "train"), with a ``text`` column: each
                               item rendered by the pre-training template (publish/exports.py)
    <version>/linkqa.jsonl     the same rows, one JSON object per line
    <version>/linkqa_messages.parquet  one chat per item (``qa_id``, ``messages``: system,
                               user, assistant turns) for supervised fine-tuning
    <version>/linkqa_messages.jsonl    the same chats, one JSON object per line
    <version>/README.md        dataset card: YAML header (license, languages, features,
                               sizes, configs) + provenance, tables, cleaning summary, and how
                               the release was made (code commit, settings with secrets
                               masked, prompt, template and graph versions, model ids)
    <version>/manifest.json    row counts, sha256 and size of every file, the same provenance
    latest -> <version>        symlink to the newest release (and LATEST, a text file
                               holding its name, for storage without symlinks)

``<version>`` is ``YYYYMMDD-<first 12 hex of the JSONL's sha256>`` (UTC date): the same
rows give the same hash, so a re-run on the same day rewrites the same directory. A
release is written into a hidden staging directory and renamed into place, so a reader
never sees half a release.

Both files load with ``datasets`` and no options: ``load_dataset("parquet",
data_files=".../linkqa.parquet")``, ``load_dataset("json", data_files=".../linkqa.jsonl")``,
or ``load_dataset("<version dir>")`` through the card's ``configs`` (``"messages"``: the
chats, from their Parquet file: ``datasets`` reads every config of a directory with one
builder, so the configs are all Parquet). Two details make that
hold: columns are written with plain Arrow types (``string``, ``list<string>``, not polars'
``large_*``/view types), and the rows that first carry a value in each column are moved to
the front (at most one per column; the rest keeps its order), because JSON readers infer
column types from the first block and a column that is null or empty there for a whole
block (``enhanced_from`` of originals, say) would make later rows fail to load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from linksyn_dagster.core.language import detect_language
from linksyn_dagster.core.prompting import format_choices
from linksyn_dagster.publish.exports import TrainingTemplates, load_templates, messages_frame, with_text
from linksyn_dagster.publish.provenance import ReleaseProvenance, code_version

__all__ = [
    "DATA_FILES",
    "FIELD_DOCS",
    "MESSAGES_FILES",
    "ReleaseFiles",
    "ReleaseSummary",
    "dataset_card",
    "hf_features",
    "release_version",
    "size_category",
    "write_release",
]

DATA_FILES = ("linkqa.parquet", "linkqa.jsonl")
MESSAGES_FILES = ("linkqa_messages.parquet", "linkqa_messages.jsonl")
CARD_FILE = "README.md"
MANIFEST_FILE = "manifest.json"
LATEST_LINK = "latest"
LATEST_FILE = "LATEST"
SPLIT = "train"

FIELD_DOCS = {
    "qa_id": "stable id of the item (hash of the request that produced it)",
    "discipline": "discipline the path that produced the item started in",
    "variant": "`original` (synthesized from a path) or `rewrite` (rewritten toward its target level)",
    "enhanced_from": "qa_id of the version a rewrite rewrites",
    "question / choices / answer / explanation": "the multiple-choice item; `answer` is the correct letter",
    "target_difficulty / difficulty": "the level asked for, and the level judged, 1-5 on the judge's fixed "
                                      "scale (null if the judge failed, or no level was asked)",
    "verdict / verifier_answers": "`agrees`: a majority of the verifier's independent answers is the key "
                                  "(`not_verified`: verification was off)",
    "kps_used": "knowledge points the model says the item combines",
    "path_id / path_kp_ids": "the KP-graph walk the item was synthesized from (`kp_paths`)",
    "source_seed_ids": "seeds linked along the path that the prompt showed the model (`seed_qa`)",
    "model / prompt_version": "who wrote it, with which versioned prompt",
    "prompt_tokens / completion_tokens / reasoning_tokens / cost_usd": "what the item cost",
    "tokens": "the item's own size: tokens of question, choices, answer and explanation (tiktoken cl100k_base)",
    "quality_flags": "cheap quality checks that fired (empty = none); see the table above",
    "text": "the item as pre-training text (question, lettered choices, answer, explanation), rendered by the "
            "template named under \"How this release was made\"",
}

DEFAULT_LICENSE_NOTE = (
    "Synthetic data derived from the seed sets you loaded: their licenses apply to derived items "
    "(e.g. MMLU is MIT, CMMLU is CC BY-NC-SA 4.0, so a release seeded from CMMLU is for "
    "non-commercial use and shares alike). Items written by a small local model show the pipeline "
    "working, not output quality."
)


@dataclass(frozen=True)
class ReleaseFiles:
    directory: Path  # the version directory
    parquet: Path
    jsonl: Path
    card: Path
    manifest: Path
    version: str = ""
    messages: Path | None = None  # the chat export (linkqa_messages.parquet)
    messages_jsonl: Path | None = None  # the same chats as JSON lines
    root: Path | None = None  # the release root holding every version
    latest: Path | None = None  # root/latest (symlink to directory), None if not created


@dataclass(frozen=True)
class ReleaseSummary:
    """How the release was cleaned and where it came from: the card's and manifest's numbers."""

    exact_duplicates: int = 0
    near_duplicates: int = 0
    verifier_samples: int = 0  # k: independent solves per item (0 = not verified)
    verdicts: Mapping[str, int] = field(default_factory=dict)  # verdict → items (agrees are kept)
    unusable: Mapping[str, int] = field(default_factory=dict)  # reason (an unusable flag) → items removed
    source_copies: int = 0  # items removed as near-copies of one of their own source seeds
    near_dup_threshold: float | None = None
    contaminated: int = 0  # items removed for overlap with a benchmark
    contaminated_seeds: int = 0  # seeds found in a benchmark (flagged before synthesis)
    benchmark_files: Sequence[str] = ()
    benchmark_items: int = 0
    hits_by_benchmark: Mapping[str, int] = field(default_factory=dict)  # benchmark file → items removed
    seed_sources: Mapping[str, int] = field(default_factory=dict)  # e.g. {"mmlu_csv": 285}
    quality_flags: Mapping[str, int] = field(default_factory=dict)  # flag → items
    decontamination_method: str = (
        "13-gram overlap (character 13-grams for CJK) covering at least half of a benchmark item, "
        "or a MinHash near-duplicate (estimated Jaccard >= 0.7) of its question, answer and choices"
    )
    name: str = "LinkQA (LinkSyn)"
    license: str = "other"
    license_note: str = DEFAULT_LICENSE_NOTE


# --------------------------------------------------------------------------- helpers


def _verification(summary: ReleaseSummary) -> str:
    if not summary.verifier_samples:
        return "off (answers not checked by an independent solver)"
    kept = summary.verdicts.get("agrees", 0)
    dropped = {k: v for k, v in summary.verdicts.items() if k != "agrees"}
    return (f"each item solved {summary.verifier_samples} times by a verifier that does not see the key; "
            f"{kept} kept (a majority answered the key), {sum(dropped.values())} removed{_by_reason(dropped)}")


def _by_reason(counts: Mapping[str, int]) -> str:
    return f" ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})" if counts else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def release_version(jsonl_sha256: str, when: datetime | None = None) -> str:
    """``YYYYMMDD-<12 hex>``: the UTC date and the start of the data's sha256."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return f"{when:%Y%m%d}-{jsonl_sha256[:12]}"


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket of a row count."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "1B<n<10B"


def _plain_type(dtype: pa.DataType) -> pa.DataType:
    """Arrow types every reader knows: string/list instead of large/view variants."""
    if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    if pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype) or pa.types.is_large_list_view(dtype):
        return pa.list_(_plain_type(dtype.value_type))
    if pa.types.is_list(dtype):
        return pa.list_(_plain_type(dtype.value_type))
    if pa.types.is_struct(dtype):
        return pa.struct([pa.field(f.name, _plain_type(f.type)) for f in dtype])
    return dtype


def _arrow_table(df: pl.DataFrame) -> pa.Table:
    table = df.to_arrow()
    schema = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in table.schema])
    return table.cast(schema)


_HF_DTYPES = {"double": "float64", "float": "float32", "halffloat": "float16", "bool": "bool", "null": "null"}


def _hf_feature(dtype: pa.DataType) -> dict[str, Any]:
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        inner = _hf_feature(dtype.value_type)
        return {"list": inner["dtype"] if list(inner) == ["dtype"] else inner}
    if pa.types.is_struct(dtype):
        return {"struct": [{"name": f.name, **_hf_feature(f.type)} for f in dtype]}
    name = str(dtype)
    return {"dtype": _HF_DTYPES.get(name, name)}


def hf_features(schema: pa.Schema) -> list[dict[str, Any]]:
    """The card's ``dataset_info.features`` (the Hub's YAML form) of an Arrow schema."""
    return [{"name": f.name, **_hf_feature(f.type)} for f in schema]


def _witness_first(df: pl.DataFrame) -> pl.DataFrame:
    """Move the first row that has a value in each column to the front (see the module doc)."""
    if df.height < 2:
        return df
    conditions = []
    for name, dtype in df.schema.items():
        value = pl.col(name)
        if isinstance(dtype, pl.List):
            value = value.list.drop_nulls().list.len() > 0
        else:
            value = value.is_not_null()
        conditions.append(value.arg_true().first().alias(name))
    firsts = df.select(conditions).row(0)
    witnesses = sorted({i for i in firsts if i is not None})
    if witnesses == list(range(len(witnesses))):
        return df
    index = pl.Series("__row", witnesses, dtype=pl.UInt32)
    rest = df.with_row_index("__row").filter(~pl.col("__row").is_in(index.implode())).drop("__row")
    return pl.concat([df[witnesses], rest])


def _counts_table(df: pl.DataFrame, key: str, label: str = "items") -> str:
    if df.is_empty():
        return "_(none)_"
    counts = df.group_by(key).len().sort(["len", key], descending=[True, False])
    lines = [f"| {key} | {label} |", "|---|---:|"]
    lines += [f"| {value} | {count} |" for value, count in counts.iter_rows()]
    return "\n".join(lines)


def _mapping_table(mapping: Mapping[str, int], key: str, label: str) -> str:
    if not mapping:
        return "_(none)_"
    lines = [f"| {key} | {label} |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(mapping.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def _discipline_difficulty(df: pl.DataFrame) -> str:
    if df.is_empty() or not {"discipline", "difficulty"} <= set(df.columns):
        return "_(none)_"
    table = (
        df.select("discipline", pl.col("difficulty").cast(pl.Utf8).fill_null("unjudged").alias("difficulty"))
        .group_by("discipline", "difficulty").len()
        .pivot(on="difficulty", index="discipline", values="len").fill_null(0).sort("discipline")
    )
    levels = sorted((c for c in table.columns if c != "discipline"), key=lambda v: (v == "unjudged", v))
    lines = ["| discipline | " + " | ".join(levels) + " |", "|---|" + "---:|" * len(levels)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |"
              for row in table.select("discipline", *levels).iter_rows()]
    return "\n".join(lines)


def _languages(df: pl.DataFrame) -> list[str]:
    if "language" in df.columns:
        values = df.get_column("language").drop_nulls().unique().to_list()
    elif "question" in df.columns:
        values = {detect_language(q) for q in df.get_column("question").drop_nulls().head(5000).to_list()}
    else:
        values = []
    return sorted(v for v in values if v and v != "und")


def _distinct(df: pl.DataFrame, column: str) -> int:
    if column not in df.columns or df.is_empty():
        return 0
    series = df.get_column(column)
    if isinstance(series.dtype, pl.List):
        series = series.explode()
    return series.drop_nulls().n_unique()


def _ids(df: pl.DataFrame, column: str) -> str:
    if column not in df.columns:
        return "(not recorded)"
    values = sorted(df.get_column(column).drop_nulls().unique().to_list())
    return ", ".join(f"`{v}`" for v in values) or "(none)"


def _how_made(dataset: pl.DataFrame, provenance: ReleaseProvenance | None,
              templates: TrainingTemplates | None) -> str:
    """The card's "How this release was made": code, graph, models, prompts, templates, settings."""
    if provenance is None:
        return "## How this release was made\n\n_(not recorded)_\n"
    graphs = ", ".join(f"`{v}` ({n} items)" for v, n in sorted(provenance.graph_versions.items())) \
        or "(not recorded)"
    prompts = ", ".join(f"`{v}`" for v in provenance.prompts.values()) or "(not recorded)"
    exports = (f"`{templates.text_version}` (the `text` column), `{templates.chat_version}` (`linkqa_messages.*`)"
               if templates else "(none)")
    settings = ("```yaml\n" + yaml.safe_dump(dict(provenance.settings), sort_keys=False, allow_unicode=True)
                + "```" if provenance.settings else "_(not recorded)_")
    return f"""## How this release was made

- code: {provenance.code.describe()}
- KP graph version the items' paths were walked on: {graphs}
- model ids: items written by {_ids(dataset, "model")}; answers verified by {_ids(dataset, "verifier_model")}
- prompt versions the pipeline asks with: {prompts}
- templates of the training exports: {exports}

Effective settings of the run that built it (LINKSYN_* variables, nested with `__`; secrets
masked as `**********`):

{settings}
"""


# --------------------------------------------------------------------------- card


def dataset_card(
    dataset: pl.DataFrame,
    dropped: int | ReleaseSummary = 0,
    name: str | None = None,
    *,
    version: str = "",
    features: list[dict[str, Any]] | None = None,
    num_bytes: int | None = None,
    download_size: int | None = None,
    provenance: ReleaseProvenance | None = None,
    templates: TrainingTemplates | None = None,
) -> str:
    """The README.md of a release in the Hugging Face card format.

    ``dropped`` is either the number of exact duplicates removed (the old form) or a
    :class:`ReleaseSummary`. ``features``/``num_bytes``/``download_size`` default to what
    the dataset itself gives (Arrow schema, in-memory size, unknown). ``provenance``: how the
    release was made (None: not recorded); ``templates``: those that rendered its training
    exports (None: no exports).
    """
    summary = dropped if isinstance(dropped, ReleaseSummary) else ReleaseSummary(exact_duplicates=int(dropped))
    title = name or summary.name
    table = _arrow_table(dataset)
    languages = _languages(dataset)
    info: dict[str, Any] = {
        "features": features if features is not None else hf_features(table.schema),
        "splits": [{"name": SPLIT, "num_bytes": int(num_bytes if num_bytes is not None else table.nbytes),
                    "num_examples": dataset.height}],
        "dataset_size": int(num_bytes if num_bytes is not None else table.nbytes),
    }
    if download_size is not None:
        info["download_size"] = int(download_size)
    header = {
        "pretty_name": title,
        "license": summary.license,
        "language": languages,
        "task_categories": ["question-answering", "multiple-choice"],
        "size_categories": [size_category(dataset.height)],
        "tags": ["synthetic", "linkqa", "knowledge-graph"],
        "dataset_info": info,
        "configs": [{"config_name": "default", "data_files": [{"split": SPLIT, "path": DATA_FILES[0]}]}],
    }
    if templates is not None:
        header["configs"].append({"config_name": "messages",
                                  "data_files": [{"split": SPLIT, "path": MESSAGES_FILES[0]}]})
    yaml_header = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, default_flow_style=False)

    fields = "\n".join(f"- `{k}`: {v}" for k, v in FIELD_DOCS.items() if k != "text" or templates)
    chat_usage = exports_note = ""
    if templates is not None:
        chat_usage = (f'\nchat = load_dataset("parquet", data_files="{MESSAGES_FILES[0]}")  # or "json" with '
                      f'{MESSAGES_FILES[1]}')
        exports_note = ("\n`text` holds each item rendered for pre-training; `linkqa_messages.*` hold the same\n"
                        "items as system / user / assistant turns (the assistant gives the answer and its\n"
                        "explanation), for supervised fine-tuning.\n")
    example = ""
    if dataset.height and {"question", "choices", "answer"} <= set(dataset.columns):
        row = dataset.row(0, named=True)
        example = (f"\n## Example\n\n> {row['question']}\n>\n> "
                   + format_choices(row["choices"] or []).replace("\n", "\n> ")
                   + f"\n>\n> Answer: {row['answer']}\n")
    disciplines = _distinct(dataset, "discipline")
    variants = (dict(dataset.group_by("variant").len().iter_rows())
                if "variant" in dataset.columns and dataset.height else {})
    models = _counts_table(dataset, "model") if "model" in dataset.columns else "_(not recorded)_"
    prompts = _counts_table(dataset, "prompt_version") if "prompt_version" in dataset.columns else "_(not recorded)_"
    near = (f"{summary.near_duplicates} (MinHash-LSH over question + answer, estimated Jaccard >= "
            f"{summary.near_dup_threshold:g}; one representative kept per cluster)"
            if summary.near_dup_threshold is not None else str(summary.near_duplicates))
    benchmarks = ", ".join(f"`{Path(b).name}`" for b in summary.benchmark_files) or "none configured"
    difficulty = dataset.with_columns(pl.col("difficulty").cast(pl.Utf8).fill_null("unjudged")) \
        if "difficulty" in dataset.columns else dataset.clear()
    return f"""---
{yaml_header}---

# {title}

Synthetic multiple-choice QA written by a language model from walks over a knowledge-point
co-occurrence graph (the LinkQA method, arXiv 2508.01317): every item combines several
knowledge points and is traceable to the seed questions linked along its path.

```python
from datasets import load_dataset

ds = load_dataset("parquet", data_files="{DATA_FILES[0]}")  # or "json" with {DATA_FILES[1]}{chat_usage}
```
{exports_note}
- version: {version or "(unversioned)"}
- items: {dataset.height}
- disciplines: {disciplines}
- languages: {", ".join(languages) or "(unknown)"}
- originals / rewrites toward their level: {variants.get("original", 0)} / {variants.get("rewrite", 0)}

## Provenance

Items come from {_distinct(dataset, "path_id")} KP-graph paths and cite {_distinct(dataset, "source_seed_ids")}
distinct seed questions.

Seed sources:

{_mapping_table(summary.seed_sources, "source", "seeds")}

Models:

{models}

Prompt versions:

{prompts}

## Items per discipline

{_counts_table(dataset, "discipline")}

## Items per difficulty

{_counts_table(difficulty, "difficulty")}

## Difficulty per discipline

{_discipline_difficulty(dataset)}

## Cleaning

- verification: {_verification(summary)}
- unusable items removed: {sum(summary.unusable.values())}{_by_reason(summary.unusable)}
- near-copies of their own source seeds removed: {summary.source_copies}
- exact duplicates removed: {summary.exact_duplicates}
- near-duplicates removed: {near}
- benchmark decontamination: {summary.contaminated} items removed after checking against
  {summary.benchmark_items} benchmark items ({benchmarks}); an item is contaminated by
  {summary.decontamination_method}
- seeds found in a benchmark: {summary.contaminated_seeds}

Items removed per benchmark file:

{_mapping_table(summary.hits_by_benchmark, "benchmark file", "items removed")}

## Quality signals

Items per flag in `quality_flags` (flagged items are kept, the column says why they may
deserve a look):

{_mapping_table({k: v for k, v in summary.quality_flags.items() if v}, "flag", "items")}

## Fields and provenance

{fields}
{example}
{_how_made(dataset, provenance, templates)}
## License and use

License: `{summary.license}`. {summary.license_note}
"""


# --------------------------------------------------------------------------- files


def _replace_link(root: Path, version: str) -> Path | None:
    link = root / LATEST_LINK
    tmp = root / f".{LATEST_LINK}-{uuid.uuid4().hex}"
    try:
        os.symlink(version, tmp, target_is_directory=True)
        os.replace(tmp, link)  # atomic: readers see the old or the new release
    except OSError:  # no symlinks here (some Windows setups, some object-store mounts)
        tmp.unlink(missing_ok=True)
        return None
    return link


def write_release(
    dataset: pl.DataFrame,
    directory: Path,
    dropped: int | ReleaseSummary = 0,
    *,
    version: str | None = None,
    now: datetime | None = None,
    provenance: ReleaseProvenance | None = None,
    templates: TrainingTemplates | None = None,
) -> ReleaseFiles:
    """Write a release under ``directory`` (the release root) as ``<version>/`` and point
    ``latest`` at it. ``dropped``: exact duplicates removed, or a :class:`ReleaseSummary`;
    ``provenance``: how it was made (default: only the code's version); ``templates``: the
    training exports' (default: the newest versions)."""
    summary = dropped if isinstance(dropped, ReleaseSummary) else ReleaseSummary(exact_duplicates=int(dropped))
    provenance = provenance or ReleaseProvenance(code=code_version())
    templates = templates or load_templates()
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    staging = root / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        ordered = _witness_first(with_text(dataset, templates))
        parquet, jsonl = staging / DATA_FILES[0], staging / DATA_FILES[1]
        messages, messages_jsonl = staging / MESSAGES_FILES[0], staging / MESSAGES_FILES[1]
        table = _arrow_table(ordered)
        pq.write_table(table, parquet)
        features, num_bytes = hf_features(table.schema), table.nbytes
        del table  # each copy of the release lives only while it is written
        ordered.write_ndjson(jsonl)
        chats = messages_frame(ordered, templates)
        pq.write_table(_arrow_table(chats), messages)
        chats.write_ndjson(messages_jsonl)
        del chats
        digest = _sha256(jsonl)
        version = version or release_version(digest, now)
        card = staging / CARD_FILE
        card.write_text(
            dataset_card(ordered, summary, version=version, features=features,
                         num_bytes=num_bytes, download_size=parquet.stat().st_size, provenance=provenance,
                         templates=templates),
            encoding="utf-8",
        )
        per_discipline = (dict(sorted(ordered.group_by("discipline").len().iter_rows()))
                          if "discipline" in ordered.columns and ordered.height else {})
        manifest = {
            "name": summary.name,
            "version": version,
            "created_at": now.isoformat(timespec="seconds"),
            "rows": ordered.height,
            "columns": ordered.columns,
            "rows_per_discipline": per_discipline,
            "files": {
                p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size,
                         **({"rows": ordered.height} if p.name in (*DATA_FILES, *MESSAGES_FILES) else {})}
                for p in (parquet, jsonl, messages, messages_jsonl, card)
            },
            "cleaning": {
                "verifier_samples": summary.verifier_samples,
                "verdicts": dict(summary.verdicts),
                "unusable": dict(summary.unusable),
                "source_copies": summary.source_copies,
                "exact_duplicates": summary.exact_duplicates,
                "near_duplicates": summary.near_duplicates,
                "contaminated": summary.contaminated,
                "contaminated_seeds": summary.contaminated_seeds,
                "benchmark_items": summary.benchmark_items,
            },
            "quality_flags": dict(summary.quality_flags),
            "provenance": {
                **provenance.as_dict(),
                "models": {column: sorted(ordered.get_column(column).drop_nulls().unique().to_list())
                           for column in ("model", "verifier_model") if column in ordered.columns},
                "templates": {"text": templates.text_version, "messages": templates.chat_version},
            },
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")

        target = root / version
        previous = None
        if target.exists():  # same rows released again (e.g. re-run the same day): replace
            previous = root / f".old-{uuid.uuid4().hex}"
            target.rename(previous)
        staging.rename(target)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = root / LATEST_FILE
    tmp = root / f".{LATEST_FILE}-{uuid.uuid4().hex}"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(pointer)
    link = _replace_link(root, version)
    return ReleaseFiles(directory=target, parquet=target / DATA_FILES[0], jsonl=target / DATA_FILES[1],
                        card=target / CARD_FILE, manifest=target / MANIFEST_FILE, version=version, root=root,
                        latest=link, messages=target / MESSAGES_FILES[0], messages_jsonl=target / MESSAGES_FILES[1])
