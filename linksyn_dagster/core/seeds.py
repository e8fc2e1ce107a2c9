"""Seed QA loaders: MMLU/CMMLU CSV, JSONL and Parquet files into one normalized table.

Entry points: :func:`load_seed_files` (files and/or directories, walked recursively) and
:func:`load_seed_file` (one file). Both return a :class:`SeedLoad` with the seeds
(:data:`SEED_SCHEMA`), the rejected rows (:data:`REJECT_SCHEMA`), the number of duplicates
dropped and the number of files read. A bad row never stops a file: it becomes a reject
row naming the file, the line and the reason, and the other rows of the file still load.

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

import csv
import hashlib
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linksyn_dagster.core.taxonomy import OTHER, get_taxonomy, normalize_subject

__all__ = [
    "DEFAULT_MAX_FIELD_CHARS",
    "REJECT_SCHEMA",
    "SEED_SCHEMA",
    "SOURCES",
    "SeedLoad",
    "SeedRecord",
    "demo_seed_dir",
    "detect_language",
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
LABELS = "ABCDEFGHIJ"
MAX_CHOICES = len(LABELS)
MMLU_COLUMNS = 6

_SPLIT_SUFFIX_RE = re.compile(r"_(dev|val|validation|test|train)$")
_WS_RE = re.compile(r"\s+")
_LATEX_RE = re.compile(r"\\[A-Za-z]+")
# script detection runs once per seed, so it is regex-based (C speed), not a Python loop
_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_RE = re.compile("[\u3040-\u30ff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")
_CYRILLIC_WORD_RE = re.compile("[\u0400-\u04ff]+")
_ARABIC_WORD_RE = re.compile("[\u0600-\u06ff]+")
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


class SeedRecord(BaseModel):
    """One JSONL object / Parquet row (see the module docstring for the schema)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    question: str
    answer: str
    choices: list[str] | None = None
    subject: str | None = None
    discipline: str | None = None
    id: str | int | None = None
    explanation: str | None = None
    difficulty: int | None = Field(None, ge=1, le=5)
    language: str | None = None

    @field_validator("choices")
    @classmethod
    def _choice_count(cls, value: list[str] | None) -> list[str] | None:
        if value is None or len(value) == 0:
            return None  # open question
        if not 2 <= len(value) <= MAX_CHOICES:
            raise ValueError(f"expected 2-{MAX_CHOICES} choices, got {len(value)}")
        return value

    @field_validator("difficulty", mode="before")
    @classmethod
    def _integral_float(cls, value: Any) -> Any:
        # Parquet written from pandas stores a nullable int column as float64 (3.0, NaN).
        if isinstance(value, float):
            if math.isnan(value):
                return None
            if value.is_integer():
                return int(value)
        return value


def demo_seed_dir() -> Path:
    """The bundled demo seeds (JSONL, written for LinkSyn, multi-discipline, en + zh)."""
    return Path(str(resources.files("linksyn_dagster") / "data" / "demo_seeds"))


def load_seed_file(path: Path | str, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS) -> SeedLoad:
    """Load one seed file (format picked by extension and content)."""
    collector = _Collector(max_field_chars)
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
    collector = _Collector(max_field_chars)
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


def detect_language(text: str) -> str:
    """Cheap script-based guess: ``zh``/``ja``/``ko``/``ru``/``ar``/``en``, ``und`` otherwise.

    CJK characters are counted one by one and alphabetic scripts word by word (one CJK
    character carries about as much as a word), after dropping LaTeX commands, so a
    Chinese question full of formulas still reads as Chinese. Latin-script text is
    reported as ``en``: telling English from French needs a real language model, and seed
    files in other Latin-script languages can set ``language`` themselves.
    """
    sample = _LATEX_RE.sub(" ", text[:4000])  # a prefix is plenty for a script guess
    han = len(_HAN_RE.findall(sample))
    kana = len(_KANA_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(sample))
    latin = len(_LATIN_WORD_RE.findall(sample))
    cyrillic = len(_CYRILLIC_WORD_RE.findall(sample))
    arabic = len(_ARABIC_WORD_RE.findall(sample))
    units = han + kana + hangul + latin + cyrillic + arabic
    if units == 0:
        return "und"
    if hangul / units >= 0.25:
        return "ko"
    if kana / units >= 0.1:
        return "ja"
    if han / units >= 0.25:
        return "zh"
    if cyrillic / units >= 0.5:
        return "ru"
    if arabic / units >= 0.5:
        return "ar"
    if latin / units >= 0.5:
        return "en"
    return "und"


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


@dataclass
class _Candidate:
    """A row as read from any format, before validation and normalization."""

    question: str
    choices: list[str]
    answer: str
    subject: str
    explanation: str | None = None
    discipline: str | None = None  # explicit override (JSONL/Parquet)
    difficulty: int | None = None
    language: str | None = None
    answer_may_be_text: bool = False  # JSONL/Parquet accept the choice text as the answer
    field_names: dict[str, str] = field(default_factory=dict)  # e.g. "choice1" -> "B" for CSV


class _Collector:
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

    def add(self, candidate: _Candidate, source: str, file: Path, line: int, raw: str) -> None:
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

    def _normalize(self, c: _Candidate) -> dict[str, Any]:
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


def _load_one(path: Path, collector: _Collector) -> None:
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
            _load_parquet(path, collector)
        elif suffix in _JSONL_SUFFIXES:
            _load_jsonl(path, collector)
        elif suffix == ".csv":
            _load_csv(path, collector)
        else:
            collector.reject(
                path, None, None, f"unsupported file type {suffix or '(no extension)'!r}: expected CSV, JSONL or Parquet"
            )
    except OSError as exc:  # e.g. the file vanished or a disk error mid-read
        collector.reject(path, None, None, f"error reading file: {exc}")


# --------------------------------------------------------------------------- CSV


class _LineFeed:
    """Feeds decoded physical lines to ``csv.reader`` and remembers which ones it consumed.

    Decoding is per line so one line of bad bytes costs one record, not the file. Bad
    lines are still fed (with U+FFFD in place of the bad bytes) so quoting stays in sync,
    and the record they belong to is rejected.
    """

    def __init__(self, fh: Iterable[bytes]) -> None:
        self._fh = fh
        self.consumed: list[tuple[int, str]] = []
        self.problems: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._fh, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # UTF-8 byte order mark
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", errors="replace")
                self.problems[number] = f"invalid UTF-8 at line {number}, byte {exc.start}"
            if "\x00" in text:
                text = text.replace("\x00", "\ufffd")
                self.problems.setdefault(number, f"NUL byte at line {number}")
            self.consumed.append((number, text))
            yield text

    def take(self) -> tuple[int, str, str | None]:
        """(start line, raw text, first problem) of the lines consumed since the last take."""
        lines = self.consumed
        self.consumed = []
        if not lines:
            return 0, "", None
        problem = next((self.problems.pop(n) for n, _ in lines if n in self.problems), None)
        for n, _ in lines:
            self.problems.pop(n, None)
        return lines[0][0], "".join(text for _, text in lines).rstrip("\r\n"), problem


def _csv_subject(path: Path) -> str:
    return _SPLIT_SUFFIX_RE.sub("", normalize_subject(path.stem))


def _header_columns(cells: list[str]) -> dict[str, int] | None:
    """Column positions if ``cells`` is a CMMLU-style header, else None (MMLU: no header)."""
    keys = [normalize_subject(cell) for cell in cells]
    if "question" not in keys or "answer" not in keys:
        return None
    return {key: i for i, key in enumerate(keys) if key}


def _load_csv(path: Path, collector: _Collector) -> None:
    # Fields longer than csv's own limit raise csv.Error (caught per record below); keep
    # that limit above ours so oversize fields get the clearer "over the limit" reason.
    if csv.field_size_limit() <= collector.max_field_chars:
        csv.field_size_limit(collector.max_field_chars + 1)
    subject = _csv_subject(path)
    header: dict[str, int] | None = None
    header_cells: list[str] = []
    first = True
    rows = 0
    with open(path, "rb") as fh:
        feed = _LineFeed(fh)
        reader = csv.reader(iter(feed))
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rows += 1
                line, raw, _ = feed.take()
                collector.reject(path, line or None, None, f"CSV parse error: {exc}", raw)
                continue
            line, raw, problem = feed.take()
            if not any(cell.strip() for cell in cells):
                continue  # blank line: not a record
            if first:
                first = False
                header = _header_columns(cells) if problem is None else None
                if header is not None:
                    header_cells = [cell.strip() for cell in cells]
                    continue
            rows += 1
            if problem is not None:
                collector.reject(path, line, None, problem, raw)
                continue
            if header is None:
                _mmlu_row(path, collector, subject, cells, line, raw)
            else:
                _cmmlu_row(path, collector, subject, header, header_cells, cells, line, raw)
    if rows == 0:
        collector.reject(path, None, None, "file has a header but no data rows" if header else "file is empty")


def _mmlu_row(path: Path, collector: _Collector, subject: str, cells: list[str], line: int, raw: str) -> None:
    if len(cells) != MMLU_COLUMNS:
        collector.reject(
            path, line, None, f"wrong column count: expected {MMLU_COLUMNS} (question, A-D, answer), got {len(cells)}", raw
        )
        return
    candidate = _Candidate(
        question=cells[0],
        choices=cells[1:5],
        answer=cells[5],
        subject=subject,
        field_names={"question": "question", "answer": "answer", **{f"choice{i}": LABELS[i] for i in range(4)}},
    )
    collector.add(candidate, "mmlu_csv", path, line, raw)


def _cmmlu_row(
    path: Path,
    collector: _Collector,
    subject: str,
    header: dict[str, int],
    header_cells: list[str],
    cells: list[str],
    line: int,
    raw: str,
) -> None:
    width = len(header_cells)
    if len(cells) != width:
        collector.reject(path, line, None, f"wrong column count: expected {width} as in the header, got {len(cells)}", raw)
        return
    # choice columns are A, B, C, ... up to the first letter the header lacks
    columns = [header[label.lower()] for label in itertools.takewhile(lambda lab: lab.lower() in header, LABELS)]
    explanation_col = header.get("explanation")
    candidate = _Candidate(
        question=cells[header["question"]],
        choices=[cells[i] for i in columns],
        answer=cells[header["answer"]],
        subject=subject,
        explanation=cells[explanation_col] if explanation_col is not None else None,
        # rejects name the file's own column headers
        field_names={
            "question": header_cells[header["question"]],
            "answer": header_cells[header["answer"]],
            "explanation": header_cells[explanation_col] if explanation_col is not None else "explanation",
            **{f"choice{n}": header_cells[i] for n, i in enumerate(columns)},
        },
    )
    collector.add(candidate, "cmmlu_csv", path, line, raw)


# --------------------------------------------------------------------------- JSONL / Parquet


def _record_candidate(record: SeedRecord) -> _Candidate:
    return _Candidate(
        question=record.question,
        choices=record.choices or [],
        answer=record.answer,
        subject=record.subject or "",
        explanation=record.explanation,
        discipline=record.discipline,
        difficulty=record.difficulty,
        language=record.language,
        answer_may_be_text=True,
    )


def _validation_reject(exc: ValidationError) -> _Reject:
    errors = exc.errors(include_url=False)
    fields = [".".join(str(part) for part in error["loc"]) for error in errors]
    reason = "; ".join(f"{f or 'record'}: {error['msg']}" for f, error in zip(fields, errors, strict=True))
    return _Reject(fields[0] or None, f"invalid record: {reason}")


def _add_record(
    obj: Any, source: str, path: Path, line: int, raw: Callable[[], str], collector: _Collector
) -> None:
    if not isinstance(obj, dict):
        collector.reject(path, line, None, f"wrong JSON type: expected an object, got {type(obj).__name__}", raw())
        return
    try:
        record = SeedRecord.model_validate(obj)
    except ValidationError as exc:
        problem = _validation_reject(exc)
        collector.reject(path, line, problem.field, problem.reason, raw())
        return
    collector.add(_record_candidate(record), source, path, line, raw())


def _load_jsonl(path: Path, collector: _Collector) -> None:
    rows = 0
    with open(path, "rb") as fh:
        for number, data in enumerate(fh, start=1):
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if not data.strip():
                continue
            rows += 1
            if b"\x00" in data:
                text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
                collector.reject(path, number, None, "NUL byte in line", text)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                collector.reject(
                    path, number, None, f"invalid UTF-8 at byte {exc.start}", data.decode("utf-8", errors="replace")
                )
                continue
            if rows == 1 and text.lstrip().startswith("["):
                collector.reject(path, number, None, "a JSON array is not supported: write one JSON object per line", text)
                return
            text = text.rstrip("\r\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                collector.reject(path, number, None, f"invalid JSON: {exc.msg} at column {exc.colno}", text)
                continue
            _add_record(obj, "jsonl", path, number, lambda: text, collector)
    if rows == 0:
        collector.reject(path, None, None, "file is empty")


_PARQUET_FIELDS = tuple(SeedRecord.model_fields)


def _load_parquet(path: Path, collector: _Collector) -> None:
    try:
        parquet = pq.ParquetFile(path)
        columns = [name for name in parquet.schema_arrow.names if name in _PARQUET_FIELDS]
        total = parquet.metadata.num_rows
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for truncated or foreign files
        collector.reject(path, None, None, f"unreadable Parquet file: {exc}")
        return
    missing = [name for name in ("question", "answer") if name not in columns]
    if missing:
        collector.reject(path, None, None, f"missing required column(s): {', '.join(missing)}")
        return
    if total == 0:
        collector.reject(path, None, None, "file is empty (0 rows)")
        return
    row = 0
    try:
        # batches keep memory flat for large files; only the schema's columns are read
        for batch in parquet.iter_batches(batch_size=2048, columns=columns):
            for record in batch.to_pylist():
                row += 1
                _add_record(
                    record,
                    "parquet",
                    path,
                    row,
                    lambda r=record: json.dumps(r, ensure_ascii=False, default=str),
                    collector,
                )
    except Exception as exc:  # corrupt pages: rows read so far are kept
        collector.reject(path, row + 1, None, f"unreadable Parquet data from row {row + 1} on: {exc}")
