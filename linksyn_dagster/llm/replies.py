"""What the client makes of a model's reply: the answer split from its reasoning, then
parsed as JSON and validated against the stage's schema (``InvalidReply`` when it is not)."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)


class InvalidReply(ValueError):
    """The model answered, but not with JSON valid against the schema. ``not_json`` (empty or
    cut-off content) is worth a plain retry; a schema violation is worth a repair turn."""

    def __init__(self, message: str, not_json: bool):
        super().__init__(message)
        self.not_json = not_json


def split_reasoning(content: str | None, reasoning: str | None) -> tuple[str, str | None]:
    """Separate an R1-style ``<think>`` block from the answer; keep provider reasoning."""
    content = content or ""
    thoughts = [m.strip() for m in _THINK.findall(content)]
    if thoughts:
        content = _THINK.sub("", content).strip()
    parts = [p for p in [reasoning, *thoughts] if p]
    return content, ("\n\n".join(parts) if parts else None)


def parse_reply(content: str, schema_model: type[BaseModel]) -> BaseModel:
    text = content.strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise InvalidReply(f"reply is not JSON: {content[:120]!r}", not_json=True) from None
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError as exc:
            raise InvalidReply(f"reply is not valid JSON ({exc.msg}): {content[:120]!r}", not_json=True) from None
    try:
        return schema_model.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidReply(f"reply does not match the schema: {errors}", not_json=False) from None
