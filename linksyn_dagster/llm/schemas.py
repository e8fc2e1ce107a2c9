"""The structured replies LinkSyn asks models for, as pydantic models.

Every string carries a ``max_length``: constrained decoders (llama.cpp, vLLM) turn the JSON
schema into a grammar, and the length caps keep a small model from rambling until it hits
the token limit with half a JSON document.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from linksyn_dagster.core.taxonomy import DISCIPLINES

AnswerLetter = Literal["A", "B", "C", "D"]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=300)]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class KnowledgePoint(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    discipline: str


class KPExtraction(BaseModel):
    knowledge_points: list[KnowledgePoint] = Field(min_length=2, max_length=8)


@cache
def kp_extraction_model() -> type[KPExtraction]:
    """KPExtraction with ``discipline`` restricted to the taxonomy, so the schema sent to the
    model carries the enum and a constrained decoder cannot invent disciplines."""
    discipline_type = Literal[tuple(DISCIPLINES)]  # type: ignore[valid-type]
    kp = create_model("KnowledgePoint", __base__=KnowledgePoint,
                      discipline=(discipline_type, ...))
    return create_model("KPExtraction", __base__=KPExtraction,
                        knowledge_points=(list[kp], Field(min_length=2, max_length=8)))  # type: ignore[valid-type]


class MultipleChoiceQA(BaseModel):
    question: str = Field(min_length=10, max_length=1200)
    choices: list[Choice] = Field(min_length=4, max_length=4)
    answer: AnswerLetter
    explanation: str = Field(max_length=1200)


class SynthesizedQA(MultipleChoiceQA):
    knowledge_points_used: list[ShortName] = Field(min_length=1, max_length=8)


class DifficultyJudgement(BaseModel):
    """One reading of the judge, who solves the item without its key and grades it."""

    answer: AnswerLetter
    level: int = Field(ge=1, le=5)
    rationale: str = Field(max_length=400)


class DifficultyReadings(BaseModel):
    """One judge call: a reading of each question it was shown, in their order."""

    readings: list[DifficultyJudgement]


@cache
def difficulty_readings_model(n: int) -> type[DifficultyReadings]:
    """DifficultyReadings holding exactly ``n`` readings (a judge call shows ``n`` questions),
    so a constrained decoder writes one per question and a reply short of one is repaired."""
    return create_model("DifficultyReadings", __base__=DifficultyReadings,
                        readings=(list[DifficultyJudgement], Field(min_length=n, max_length=n)))


class RewrittenQA(MultipleChoiceQA):
    pass


@cache
def versions_model(item: type[BaseModel], n: int) -> type[BaseModel]:
    """A reply of exactly ``n`` items (``item``: SynthesizedQA or RewrittenQA): the versions
    one synthesis or rewrite call writes."""
    return create_model(f"{item.__name__}Versions", items=(list[item], Field(min_length=n, max_length=n)))


class VerifierAnswer(BaseModel):
    """An independent solve: the verifier never sees the key."""

    answer: AnswerLetter
    justification: str = Field(max_length=400)
