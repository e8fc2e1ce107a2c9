"""Seed QA loaders: MMLU/CMMLU CSV, JSONL and Parquet files into one normalized table.

Entry points: :func:`load_seed_files` (files and/or directories, walked recursively) and
:func:`load_seed_file` (one file). Both return a :class:`SeedLoad` with the seeds
(:data:`SEED_SCHEMA`), the rejected rows (:data:`REJECT_SCHEMA`), the number of duplicates
dropped and the number of files read. A bad row never stops a file: it becomes a reject
row naming the file, the line and the reason, and the other rows of the file still load.

This module holds that public API, the dispatch of a file to its format's loader and the
normalization every row goes through (:class:`Collector`: seeds, duplicates, rejects). The
loaders, one per format, are in :mod:`linksyn_dagster.core.seed_formats`; the language
guess of seeds without one is :func:`linksyn_dagster.core.language.detect_language`.

Input formats
-------------

**MMLU CSV** (``source = "mmlu_csv"``): no header; six columns ``question, A, B, C, D,
answer`` with ``answer`` one of ``A``–``D``. The subject is the file name without the
split suffix: ``college_physics_dev.csv`` → ``college_physics``.

**CMMLU CSV** (``source = "cmmlu_csv"``): a header row naming the columns, e.g.
``,Question,A,B,C,D,Answer`` (the first, unnamed column is an index and is ignored).
Recognized by a header containing ``question`` and ``answer`` (any case); the choice
columns are the single-letter columns ``A``, ``B``, ... (up to ``J``), an optional
``explanation`` column is kept. The subject is the file name (``agronomy.csv`` →
``agronomy``).

**JSONL** (``source = "jsonl"``, one JSON object per line; ``.jsonl``, ``.ndjson``,
``.json``) and **Parquet** (``source = "parquet"``, one row per seed) share one schema,
enforced by :class:`SeedRecord`:

============  ==========================  ================================================
field         type                        meaning
============  ==========================  ================================================
question      string, required            the question text (non-empty)
answer        string, required            with ``choices``: a label ``A``–``J`` (any case)
                                          or the exact text of one choice; without: the
                                          answer text
choices       list of 2–10 strings        the options, labelled A, B, C, ... in order;
                                          absent, null or ``[]`` = open question
subject       string                      e.g. ``high_school_biology``; mapped to a
                                          discipline through the taxonomy
discipline    string                      discipline id, name or alias; overrides the
                                          subject mapping; unknown values are rejected
id            string or integer           the file's own id (validated, not stored: the
                                          seed id is the content hash)
explanation   string                      why the answer is right
difficulty    integer 1–5                 1 = easy, 5 = hardest
language      string                      e.g. ``en``, ``zh``; detected when absent
============  ==========================  ================================================

Types are strict (``"difficulty": "3"`` or ``"answer": 4`` are rejected); unknown keys
are ignored. For Parquet, ``source_line`` is the 1-based row number.

Files are recognized by extension (``.csv``, JSONL's, ``.parquet``/``.pq``) and by content
(Parquet's ``PAR1`` magic, a CSV header); anything else is an "unsupported file type"
reject. Directory walks are sorted and skip hidden entries and documentation files
(``README*``, ``LICENSE*``, ...). Empty files, unreadable files and truncated Parquet are
file-level rejects (``source_line`` null).

Normalization
-------------
Text fields are stripped and ``\\r\\n`` becomes ``\\n``. Multiple-choice answers are stored
as the label (``answer``) plus the choice text (``answer_text``). ``seed_id`` is the first
16 hex digits of the SHA-256 of the NFKC-normalized, whitespace-collapsed question, choices
and answer, so the same QA found in two files gets the same id; only its first occurrence
is kept and the others are counted in :attr:`SeedLoad.duplicates` (not rejected).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from linksyn_dagster.core.language import detect_language
from linksyn_dagster.core.seed_formats import LABELS, Candidate
from linksyn_dagster.core.seed_formats.csv_files import load_csv
from linksyn_dagster.core.seed_formats.jsonl_files import load_jsonl
from linksyn_dagster.core.seed_formats.parquet_files import load_parquet
from linksyn_dagster.core.seed_formats.records import SeedRecord
from linksyn_dagster.core.taxonomy import OTHER, get_taxonomy, normalize_subject

__all__ = [
    "DEFAULT_MAX_FIELD_CHARS",
    "REJECT_SCHEMA",
    "SEED_SCHEMA",
    "SOURCES",
    "SeedLoad",
    "SeedRecord",
    "demo_seed_dir",
    "list_seed_files",
    "load_seed_file",
    "load_seed_files",
    "seed_id_for",
]

SEED_SCHEMA: dict[str, pl.DataType] = {
    "seed_id": pl.String(),
    "discipline": pl.String(),
    "subject": pl.String(),
    "question": pl.String(),
    "choices": pl.List(pl.String()),
    "answer": pl.String(),
    "answer_text": pl.String(),
    "explanation": pl.String(),
    "source": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "language": pl.String(),
    "difficulty": pl.Int64(),
}

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "field": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
}

SOURCES = ("mmlu_csv", "cmmlu_csv", "jsonl", "parquet")
DEFAULT_MAX_FIELD_CHARS = 20_000
RAW_CHARS = 300  # how much of a rejected row is kept for the reader of the rejects table

_WS_RE = re.compile(r"\s+")
_PARQUET_MAGIC = b"PAR1"
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
# Documentation that sits next to data in a directory (e.g. MMLU's LICENSE) is skipped on
# directory walks instead of filling the rejects table; naming such a file explicitly
# still produces an "unsupported file type" reject.
_DOC_STEMS = {"readme", "license", "licence", "copying", "notice", "changelog", "authors"}


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class SeedLoad:
    """Result of a load: valid seeds, rejected rows, duplicates dropped, files read."""

    seeds: pl.DataFrame
    rejects: pl.DataFrame
    duplicates: int
    files: int


def demo_seed_dir() -> Path:
    """The bundled demo seeds (JSONL, written for LinkSyn, multi-discipline, en + zh)."""
    return Path(str(resources.files("linksyn_dagster") / "data" / "demo_seeds"))


def load_seed_file(path: Path | str, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS) -> SeedLoad:
    """Load one seed file (format picked by extension and content)."""
    collector = Collector(max_field_chars)
    _load_one(Path(path), collector)
    return collector.result(files=1)


def load_seed_files(
    paths: Iterable[Path | str] | Path | str, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
) -> SeedLoad:
    """Load seed files and directories (walked recursively, in sorted order).

    Seeds are de-duplicated by ``seed_id`` across all files; the first occurrence (in
    the order given, directories in sorted path order) wins.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    collector = Collector(max_field_chars)
    files = 0
    for file in _expand(Path(p) for p in paths):
        files += 1
        _load_one(file, collector)
    return collector.result(files=files)


def list_seed_files(paths: Iterable[Path | str] | Path | str) -> list[Path]:
    """The files ``load_seed_files`` reads for ``paths``, in the order it reads them."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return list(_expand(Path(p) for p in paths))


def seed_id_for(question: str, choices: Iterable[str], answer: str) -> str:
    """Content hash of a QA: same question, choices and answer → same id, whatever the file."""
    payload = json.dumps(
        [_norm(question), [_norm(c) for c in choices], _norm(answer)], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- collection


def _norm(text: str) -> str:
    return _WS_RE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _truncate(raw: str) -> str:
    return raw if len(raw) <= RAW_CHARS else raw[: RAW_CHARS - 1] + "…"


@lru_cache(maxsize=4096)
def _classify(raw_subject: str, raw_discipline: str | None) -> tuple[str, str | None]:
    """(normalized subject, discipline id or None if the explicit discipline is unknown).

    Cached: a file has few distinct subjects, and this runs once per row.
    """
    taxonomy = get_taxonomy()
    subject = normalize_subject(raw_subject) if raw_subject.strip() else ""
    if raw_discipline is not None and raw_discipline.strip():
        discipline = taxonomy.resolve_discipline(raw_discipline)
        if discipline is None:
            return subject, None
    else:
        discipline = taxonomy.discipline_for_subject(subject) if subject else OTHER
    if not subject:
        subject = discipline if discipline != OTHER else "unspecified"
    return subject, discipline


_ARROW_TYPES: dict[pl.DataType, pa.DataType] = {
    pl.String(): pa.string(),
    pl.Int64(): pa.int64(),
    pl.List(pl.String()): pa.list_(pa.string()),
}


def _frame(columns: dict[str, list[Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    # via Arrow: polars' own list-of-lists conversion goes element by element in Python
    table = pa.table({name: pa.array(columns[name], type=_ARROW_TYPES[dtype]) for name, dtype in schema.items()})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame) and frame.schema == pl.Schema(schema)
    return frame


class _Reject(Exception):
    """A row-level problem: which field and why."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class Collector:
    """Accumulates seeds and rejects column by column (cheaper than a dict per row)."""

    def __init__(self, max_field_chars: int) -> None:
        if max_field_chars < 1:
            raise ValueError("max_field_chars must be positive")
        self.max_field_chars = max_field_chars
        self.seeds: dict[str, list[Any]] = {name: [] for name in SEED_SCHEMA}
        self.rejects: dict[str, list[Any]] = {name: [] for name in REJECT_SCHEMA}
        self.seen: set[str] = set()
        self.duplicates = 0

    def reject(self, file: Path, line: int | None, field: str | None, reason: str, raw: str = "") -> None:
        for name, value in (
            ("source_file", str(file)),
            ("source_line", line),
            ("field", field),
            ("reason", reason),
            ("raw", _truncate(raw)),
        ):
            self.rejects[name].append(value)

    def add(self, candidate: Candidate, source: str, file: Path, line: int, raw: str) -> None:
        try:
            row = self._normalize(candidate)
        except _Reject as problem:
            self.reject(file, line, problem.field, problem.reason, raw)
            return
        if row["seed_id"] in self.seen:
            self.duplicates += 1
            return
        self.seen.add(row["seed_id"])
        row.update(source=source, source_file=str(file), source_line=line)
        for name in SEED_SCHEMA:
            self.seeds[name].append(row[name])

    def _text(self, value: str, field: str, required: bool) -> str:
        if "\x00" in value:
            raise _Reject(field, "contains a NUL character")
        value = _clean(value)
        if required and not value:
            raise _Reject(field, f"{field} is empty")
        if len(value) > self.max_field_chars:
            raise _Reject(field, f"{field} is {len(value)} characters, over the limit of {self.max_field_chars}")
        return value

    def _normalize(self, c: Candidate) -> dict[str, Any]:
        names = c.field_names
        question = self._text(c.question, names.get("question", "question"), required=True)
        choices = [
            self._text(choice, names.get(f"choice{i}", f"choices.{i}"), required=True)
            for i, choice in enumerate(c.choices)
        ]
        answer_field = names.get("answer", "answer")
        answer = self._text(c.answer, answer_field, required=True)
        explanation = None
        if c.explanation is not None:
            explanation = self._text(c.explanation, names.get("explanation", "explanation"), required=False) or None

        if choices:
            label = unicodedata.normalize("NFKC", answer).upper()  # also accepts full-width "Ａ"
            if len(label) == 1 and label in LABELS:
                index = LABELS.index(label)
                if index >= len(choices):
                    raise _Reject(answer_field, f"answer {answer!r} is beyond the {len(choices)} choices")
            elif c.answer_may_be_text and answer in choices:
                index = choices.index(answer)
                label = LABELS[index]
            else:
                allowed = f"a label A-{LABELS[len(choices) - 1]}"
                if c.answer_may_be_text:
                    allowed += " or the text of a choice"
                raise _Reject(answer_field, f"answer {_truncate(answer)!r} is not {allowed}")
            answer, answer_text = label, choices[index]
        else:
            answer_text = answer

        subject, discipline = _classify(c.subject, c.discipline)
        if discipline is None:
            raise _Reject("discipline", f"unknown discipline {_truncate(c.discipline or '')!r}")

        language = c.language.strip().lower() if c.language and c.language.strip() else None
        if language is None:
            language = detect_language(" ".join([question, *choices]))

        return {
            "seed_id": seed_id_for(question, choices, answer),
            "discipline": discipline,
            "subject": subject,
            "question": question,
            "choices": choices,
            "answer": answer,
            "answer_text": answer_text,
            "explanation": explanation,
            "language": language,
            "difficulty": c.difficulty,
        }

    def result(self, files: int) -> SeedLoad:
        return SeedLoad(
            seeds=_frame(self.seeds, SEED_SCHEMA),
            rejects=_frame(self.rejects, REJECT_SCHEMA),
            duplicates=self.duplicates,
            files=files,
        )


# --------------------------------------------------------------------------- file dispatch


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path).parts
                if any(part.startswith(".") for part in relative) or not file.is_file():
                    continue
                if file.name.split(".")[0].lower() in _DOC_STEMS:
                    continue
                yield file
        else:
            yield path  # missing files are reported by _load_one, not skipped


def _load_one(path: Path, collector: Collector) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        collector.reject(path, None, None, f"cannot read file: {exc.strerror or exc}")
        return
    if size == 0:
        collector.reject(path, None, None, "file is empty")
        return
    suffix = path.suffix.lower()
    try:
        if head == _PARQUET_MAGIC or suffix in _PARQUET_SUFFIXES:
            load_parquet(path, collector)
        elif suffix in _JSONL_SUFFIXES:
            load_jsonl(path, collector)
        elif suffix == ".csv":
            load_csv(path, collector)
        else:
            collector.reject(
                path, None, None, f"unsupported file type {suffix or '(no extension)'!r}: expected CSV, JSONL or Parquet"
            )
    except OSError as exc:  # e.g. the file vanished or a disk error mid-read
        collector.reject(path, None, None, f"error reading file: {exc}")
