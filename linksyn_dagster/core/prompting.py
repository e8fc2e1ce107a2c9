"""Turning table rows into the values a prompt template is filled with. Pure functions:
the exact text the model sees is decided here and unit-tested."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Iterable, Sequence

LETTERS = "ABCDEFGHIJ"
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (简体中文)"}
# a seed pasted into a synthesis prompt is cut here: long passages crowd out the others
SEED_CHARS = 1200


def format_choices(choices: Sequence[str]) -> str:
    if not choices:
        return "(open question)"
    return "\n".join(f"{LETTERS[i]}. {choice}" for i, choice in enumerate(choices))


def format_questions(items: Sequence[dict[str, Any]]) -> str:
    """Several items for one call, numbered from 1: each question with its choices (no key)."""
    return "\n\n".join(f"Question {number}:\n{item['question']}\nChoices:\n{format_choices(item['choices'])}"
                         for number, item in enumerate(items, start=1))


def batches(count: int, size: int) -> list[range]:
    """``count`` items cut into the fewest batches of at most ``size``, their sizes within one
    of each other (in order: the larger first)."""
    if count <= 0:
        return []
    n = -(-count // size)
    small, extra = divmod(count, n)
    bounds, start = [], 0
    for index in range(n):
        end = start + small + (1 if index < extra else 0)
        bounds.append(range(start, end))
        start = end
    return bounds


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def majority_language(languages: Iterable[str], default: str = "en") -> str:
    """The language most of the seeds use; ties go to the strongest (first) seed's."""
    languages = list(languages)
    if not languages:
        return default
    counts = Counter(languages)
    best = max(counts.values())
    return next(lang for lang in languages if counts[lang] == best)


def format_seed_block(seeds: Sequence[dict[str, Any]]) -> str:
    blocks = []
    for number, seed in enumerate(seeds, start=1):
        question = seed["question"]
        if len(question) > SEED_CHARS:
            question = question[: SEED_CHARS - 1] + "…"
        blocks.append(
            f"[{number}] ({seed['discipline']}) {question}\n{format_choices(seed.get('choices') or [])}\n"
            f"Answer: {seed.get('answer', '')}"
        )
    return "\n\n".join(blocks) if blocks else "(no linked questions)"


def format_chain(names: Sequence[str]) -> str:
    return " → ".join(names)


def stable_id(*parts: object, length: int = 16) -> str:
    text = "\x1f".join(json.dumps(p, ensure_ascii=False, sort_keys=True, default=str) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
