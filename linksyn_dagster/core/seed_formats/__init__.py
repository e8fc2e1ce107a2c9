"""One loader per seed file format, each reading a file into the collector of
:mod:`linksyn_dagster.core.seeds` (which normalizes, de-duplicates and rejects rows):
``csv_files`` (MMLU and CMMLU CSV), ``jsonl_files`` and ``parquet_files``, the last two
through ``records`` (the schema they share). This module holds what every loader hands the
collector: a :class:`Candidate` row, its choices labelled with :data:`LABELS`. The formats
themselves are described in :mod:`linksyn_dagster.core.seeds`."""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = "ABCDEFGHIJ"
MAX_CHOICES = len(LABELS)


@dataclass
class Candidate:
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
