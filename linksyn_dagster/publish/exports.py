"""Training-ready renderings of the release's items, from versioned template files.

``linksyn_dagster/templates/`` holds two kinds of file, ``<name>.v<N>.<ext>``:

- ``pretraining.v<N>.txt``: one item as plain text (question, lettered choices, answer,
  explanation), the release's ``text`` column, for pre-training mixes;
- ``chat.v<N>.md``: ``### system``, ``### user`` and ``### assistant`` sections, the
  ``messages`` export (one conversation per item) for supervised fine-tuning.

Placeholders are ``$name`` (``string.Template``, as in the prompts): ``$question``,
``$choices`` (lettered, one a line), ``$answer`` (the letter), ``$answer_text`` (the correct
choice) and ``$explanation``. Item text is inserted verbatim, never interpreted. The version
recorded in the dataset card is ``<name>@v<N>``; changing a template's wording means adding
a new version file, and the release built with it is a new release (its rows differ).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

import polars as pl

from linksyn_dagster.core.prompting import LETTERS, format_choices
from linksyn_dagster.llm.prompts import sections

__all__ = ["FIELDS", "TrainingTemplates", "load_templates", "messages_frame", "with_text"]

FIELDS = frozenset({"question", "choices", "answer", "answer_text", "explanation"})
ROLES = ("system", "user", "assistant")
_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.(txt|md)$")


@dataclass(frozen=True)
class TrainingTemplates:
    """The pre-training template and the chat template of one release."""

    text: Template
    text_version: str  # e.g. pretraining@v1
    chat: Mapping[str, Template]  # role -> its turn
    chat_version: str  # e.g. chat@v1

    def fields(self, item: Mapping[str, Any]) -> dict[str, str]:
        """The placeholders' values for one item (a release row); missing values are empty."""
        choices = list(item.get("choices") or [])
        answer = str(item.get("answer") or "").strip()
        index = LETTERS.find(answer) if len(answer) == 1 else -1
        return {"question": str(item.get("question") or ""), "choices": format_choices(choices),
                "answer": answer, "answer_text": str(choices[index]) if 0 <= index < len(choices) else "",
                "explanation": str(item.get("explanation") or "")}

    def render_text(self, item: Mapping[str, Any]) -> str:
        """The item as pre-training text."""
        return _tidy(self.text.substitute(self.fields(item)))

    def render_messages(self, item: Mapping[str, Any]) -> list[dict[str, str]]:
        """The item as a conversation: system, user (question and choices), assistant (the
        answer and its explanation)."""
        values = self.fields(item)
        return [{"role": role, "content": self.render_turn(role, values)} for role in ROLES]

    def render_turn(self, role: str, values: Mapping[str, str]) -> str:
        """One turn's content from an item's placeholder values (``fields``)."""
        return _tidy(self.chat[role].substitute(values))


def _tidy(text: str) -> str:
    """No trailing blanks on a line, none around the whole (an empty value leaves none)."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def _checked(template: Template, where: str) -> Template:
    unknown = set(template.get_identifiers()) - FIELDS
    if unknown or not template.is_valid():
        raise ValueError(f"template {where}: unknown or malformed placeholder(s) {sorted(unknown)}; "
                         f"known: {sorted(FIELDS)}")
    return template


def _files(name: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in resources.files("linksyn_dagster.templates").iterdir():
        match = _FILE.match(entry.name)
        if match and match["name"] == name:
            found[int(match["version"])] = entry.read_text(encoding="utf-8")
    return found


def _pick(name: str, version: int | None) -> tuple[int, str]:
    found = _files(name)
    if not found:
        raise KeyError(f"no template named {name!r} in linksyn_dagster/templates")
    chosen = max(found) if version is None else version
    if chosen not in found:
        raise KeyError(f"template {name!r} has no version {chosen} (have {sorted(found)})")
    return chosen, found[chosen]


@cache
def load_templates(text_version: int | None = None, chat_version: int | None = None) -> TrainingTemplates:
    """The given versions of the pre-training and chat templates, or their newest."""
    text_n, text = _pick("pretraining", text_version)
    chat_n, chat_file = _pick("chat", chat_version)
    parts = sections(chat_file)
    missing = set(ROLES) - parts.keys()
    if missing:
        raise ValueError(f"template chat.v{chat_n}.md lacks section(s): {', '.join(sorted(missing))}")
    return TrainingTemplates(
        text=_checked(Template(text.strip()), f"pretraining.v{text_n}.txt"), text_version=f"pretraining@v{text_n}",
        chat={role: _checked(Template(parts[role]), f"chat.v{chat_n}.md ({role})") for role in ROLES},
        chat_version=f"chat@v{chat_n}")


RENDER_SLICE = 10_000  # rows rendered at once: the Python objects of a slice, not of the release, are alive


def _rendered(dataset: pl.DataFrame, render, dtype: pl.DataType) -> pl.Series:
    """``render(row)`` of every row as a Series, a slice of rows at a time."""
    parts = [pl.Series([render(row) for row in dataset.slice(start, RENDER_SLICE).iter_rows(named=True)],
                       dtype=dtype) for start in range(0, dataset.height, RENDER_SLICE)]
    return pl.concat(parts) if parts else pl.Series([], dtype=dtype)


def with_text(dataset: pl.DataFrame, templates: TrainingTemplates) -> pl.DataFrame:
    """``dataset`` with its ``text`` column: each item rendered by the pre-training template."""
    return dataset.with_columns(_rendered(dataset, templates.render_text, pl.Utf8).alias("text"))


MESSAGE = pl.Struct({"role": pl.Utf8, "content": pl.Utf8})


def messages_frame(dataset: pl.DataFrame, templates: TrainingTemplates) -> pl.DataFrame:
    """One conversation per item (``qa_id``, ``messages``: system, user, assistant turns), in
    the release's order (each turn rendered as ``render_messages`` does; the turns are put
    together in polars, so the release's rows never become Python dicts all at once)."""
    turns = {role: _rendered(dataset, lambda row, role=role: templates.render_turn(role, templates.fields(row)),
                             pl.Utf8) for role in ROLES}
    return pl.DataFrame({"qa_id": dataset.get_column("qa_id"), **turns}).select(
        "qa_id", pl.concat_list([pl.struct(pl.lit(role).alias("role"), pl.col(role).alias("content"))
                                 for role in ROLES]).alias("messages"))
