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


class RewrittenQA(MultipleChoiceQA):
    pass


class VerifierAnswer(BaseModel):
    """An independent solve: the verifier never sees the key."""

    answer: AnswerLetter
    justification: str = Field(max_length=400)
