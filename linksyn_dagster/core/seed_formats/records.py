"""The record schema JSONL objects and Parquet rows share (:class:`SeedRecord`, described
in :mod:`linksyn_dagster.core.seeds`), and how one record becomes a candidate row or a reject."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linksyn_dagster.core.seed_formats import MAX_CHOICES, Candidate

if TYPE_CHECKING:
    from linksyn_dagster.core.seeds import Collector


class SeedRecord(BaseModel):
    """One JSONL object / Parquet row (see :mod:`linksyn_dagster.core.seeds` for the schema)."""

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


def _record_candidate(record: SeedRecord) -> Candidate:
    return Candidate(
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


def _validation_reject(exc: ValidationError) -> tuple[str | None, str]:
    """(field, reason) of a record's reject."""
    errors = exc.errors(include_url=False)
    fields = [".".join(str(part) for part in error["loc"]) for error in errors]
    reason = "; ".join(f"{f or 'record'}: {error['msg']}" for f, error in zip(fields, errors, strict=True))
    return fields[0] or None, f"invalid record: {reason}"


def add_record(
    obj: Any, source: str, path: Path, line: int, raw: Callable[[], str], collector: Collector
) -> None:
    """Validate one JSONL object / Parquet row and hand it to ``collector`` (or reject it)."""
    if not isinstance(obj, dict):
        collector.reject(path, line, None, f"wrong JSON type: expected an object, got {type(obj).__name__}", raw())
        return
    try:
        record = SeedRecord.model_validate(obj)
    except ValidationError as exc:
        field, reason = _validation_reject(exc)
        collector.reject(path, line, field, reason, raw())
        return
    collector.add(_record_candidate(record), source, path, line, raw())
