"""MMLU and CMMLU CSV seed files (formats described in :mod:`linksyn_dagster.core.seeds`):
records read line by line, so one line of bad bytes costs one record, not the file."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from linksyn_dagster.core.seed_formats import LABELS, Candidate
from linksyn_dagster.core.taxonomy import normalize_subject

if TYPE_CHECKING:
    from linksyn_dagster.core.seeds import Collector

MMLU_COLUMNS = 6

_SPLIT_SUFFIX_RE = re.compile(r"_(dev|val|validation|test|train)$")


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


def load_csv(path: Path, collector: Collector) -> None:
    """Read an MMLU (no header) or CMMLU (header) CSV file into ``collector``."""
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


def _mmlu_row(path: Path, collector: Collector, subject: str, cells: list[str], line: int, raw: str) -> None:
    if len(cells) != MMLU_COLUMNS:
        collector.reject(
            path, line, None, f"wrong column count: expected {MMLU_COLUMNS} (question, A-D, answer), got {len(cells)}", raw
        )
        return
    candidate = Candidate(
        question=cells[0],
        choices=cells[1:5],
        answer=cells[5],
        subject=subject,
        field_names={"question": "question", "answer": "answer", **{f"choice{i}": LABELS[i] for i in range(4)}},
    )
    collector.add(candidate, "mmlu_csv", path, line, raw)


def _cmmlu_row(
    path: Path,
    collector: Collector,
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
    candidate = Candidate(
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
