"""Items to look at: a few released items per discipline with everything a reader needs to
judge them (the question, its choices and key, the KP chain it was walked from, its source
seeds with the file and line each was read from, the difficulty judged and the verifier's
verdict), picked deterministically and rendered for the HTML report and as markdown.

Items are model-written and KP names come from seeds: every text is escaped in both
renderers, and the HTML uses only the report's inline style sheet (no network).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import polars as pl

__all__ = ["ChainStep", "ItemToLookAt", "SeedSource", "items_html", "items_markdown", "items_to_look_at",
           "pick_items", "picked_seed_ids"]

PER_DISCIPLINE = 3
UNJUDGED = "unjudged"


@dataclass(frozen=True)
class ChainStep:
    kp_id: str
    name: str
    discipline: str | None = None  # the KP's primary discipline


@dataclass(frozen=True)
class SeedSource:
    seed_id: str
    source_file: str | None
    source_line: int | None
    question: str = ""

    @property
    def where(self) -> str:
        """``file:line`` (the file alone when it has no line)."""
        if not self.source_file:
            return f"seed {self.seed_id} (not in seed_qa)"
        return self.source_file if self.source_line is None else f"{self.source_file}:{self.source_line}"


@dataclass(frozen=True)
class ItemToLookAt:
    qa_id: str
    discipline: str
    question: str
    choices: tuple[str, ...]
    answer: str
    chain: tuple[ChainStep, ...]
    seeds: tuple[SeedSource, ...]
    difficulty: int | None = None
    target_difficulty: int | None = None
    difficulty_rationale: str = ""
    verdict: str = ""
    verifier_answers: tuple[str, ...] = ()
    verifier_model: str = ""
    explanation: str = ""

    @property
    def key_index(self) -> int | None:
        """The position of the answer among the choices (the answer is an option letter)."""
        if len(self.answer) == 1 and self.answer.isalpha():
            index = ord(self.answer.upper()) - ord("A")
            return index if 0 <= index < len(self.choices) else None
        return None

    @property
    def difficulty_text(self) -> str:
        judged = f"judged {self.difficulty}" if self.difficulty is not None else "not judged"
        asked = f" (asked for {self.target_difficulty})" if self.target_difficulty is not None else ""
        return judged + asked

    @property
    def verification_text(self) -> str:
        if not self.verdict:
            return "no verdict"
        if not self.verifier_answers:
            return self.verdict
        by = f" ({self.verifier_model})" if self.verifier_model else ""
        answers = ", ".join(self.verifier_answers)
        return f"{self.verdict}: the verifier{by} answered {answers} against the key {self.answer}"


def _level(value: Any) -> str:
    return UNJUDGED if value is None else str(value)


def _spread(levels: Sequence[str], n: int) -> list[str]:
    """``n`` of ``levels`` spread from the first to the last (all of them if they are no more)."""
    if len(levels) <= n:
        return list(levels)
    if n == 1:
        return [levels[(len(levels) - 1) // 2]]
    return [levels[round(i * (len(levels) - 1) / (n - 1))] for i in range(n)]


def pick_items(dataset: pl.DataFrame, per_discipline: int = PER_DISCIPLINE) -> pl.DataFrame:
    """Up to ``per_discipline`` items of each discipline, as varied in difficulty as the
    discipline's items allow: levels spread from its easiest to its hardest (unjudged last),
    one item of each in turn, the lowest ``qa_id`` (a content hash, so an arbitrary but stable
    choice) first. Sorted by discipline, then in that order."""
    if not dataset.height or per_discipline < 1:
        return dataset.clear()
    picked: list[str] = []
    rows = dataset.select("qa_id", "discipline", "difficulty").sort("discipline", "qa_id").iter_rows()
    for _, items in groupby(rows, key=lambda r: r[1]):
        by_level: dict[str, list[str]] = {}
        for qa_id, _, level in items:
            by_level.setdefault(_level(level), []).append(qa_id)
        levels = sorted(by_level, key=lambda lv: (lv == UNJUDGED, int(lv) if lv.isdigit() else 0, lv))
        queues = [by_level[lv] for lv in _spread(levels, per_discipline)]
        chosen: list[str] = []
        while len(chosen) < per_discipline and any(queues):
            for queue in queues:
                if queue and len(chosen) < per_discipline:
                    chosen.append(queue.pop(0))
        picked += chosen
    order = {qa_id: i for i, qa_id in enumerate(picked)}
    return (dataset.filter(pl.col("qa_id").is_in(picked))
            .sort(pl.col("qa_id").replace_strict(order, return_dtype=pl.Int64)))


def picked_seed_ids(picked: pl.DataFrame) -> pl.DataFrame:
    """The seeds of the picked items (seed_id), for the warehouse to look up."""
    if not picked.height or "source_seed_ids" not in picked.columns:
        return pl.DataFrame(schema={"seed_id": pl.Utf8})
    return picked.select(pl.col("source_seed_ids").explode().drop_nulls().unique().sort().alias("seed_id"))


def _texts(value: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in (value or ()))


def items_to_look_at(picked: pl.DataFrame, seeds: pl.DataFrame, kps: pl.DataFrame) -> list[ItemToLookAt]:
    """The ``picked`` items (release rows, see :func:`pick_items`) as records to show, with
    their KP chain (``path_kp_ids`` named from ``kps``: kp_id, name, primary_discipline) and
    their source seeds (``seeds``: seed_id, source_file, source_line, question)."""
    names = {r["kp_id"]: r for r in kps.to_dicts()} if kps.height else {}
    by_seed = {r["seed_id"]: r for r in seeds.to_dicts()} if seeds.height else {}
    items = []
    for row in picked.to_dicts():
        chain = tuple(ChainStep(kp, str(names.get(kp, {}).get("name") or kp),
                                names.get(kp, {}).get("primary_discipline")) for kp in row.get("path_kp_ids") or ())
        sources = []
        for seed_id in row.get("source_seed_ids") or ():
            seed = by_seed.get(seed_id, {})
            line = seed.get("source_line")
            sources.append(SeedSource(seed_id, seed.get("source_file"), int(line) if line is not None else None,
                                      str(seed.get("question") or "")))
        items.append(ItemToLookAt(
            qa_id=row["qa_id"], discipline=row["discipline"], question=str(row.get("question") or ""),
            choices=_texts(row.get("choices")), answer=str(row.get("answer") or ""), chain=chain,
            seeds=tuple(sources), difficulty=row.get("difficulty"), target_difficulty=row.get("target_difficulty"),
            difficulty_rationale=str(row.get("difficulty_rationale") or ""), verdict=str(row.get("verdict") or ""),
            verifier_answers=_texts(row.get("verifier_answers")), verifier_model=str(row.get("verifier_model") or ""),
            explanation=str(row.get("explanation") or "")))
    return items


def _by_discipline(items: Sequence[ItemToLookAt]) -> list[tuple[str, list[ItemToLookAt]]]:
    return [(d, list(group)) for d, group in groupby(items, key=lambda item: item.discipline)]


def _letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else str(index + 1)


# --- HTML (classes styled by html_report's inline style sheet) ---------------------------

def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _chain_html(chain: Sequence[ChainStep]) -> str:
    if not chain:
        return '<p class="note">(no KP chain)</p>'
    steps = []
    for i, step in enumerate(chain):
        if i:
            steps.append('<span class="link" aria-hidden="true">&rarr;</span>')
        label = f'<span class="kp-discipline">{_e(step.discipline)}</span>' if step.discipline else ""
        steps.append(f'<span class="kp" title="{_e(step.kp_id)}">{_e(step.name)}{label}</span>')
    return f'<div class="chain">{"".join(steps)}</div>'


def _item_html(item: ItemToLookAt) -> str:
    key = item.key_index
    choices = "".join(
        f'<li class="key">{_e(c)} <span class="mark">&#10003; key</span></li>' if i == key else f"<li>{_e(c)}</li>"
        for i, c in enumerate(item.choices))
    answer = "" if key is not None else f"<p><b>Answer:</b> {_e(item.answer)}</p>"
    seeds = "".join(f'<li><span class="where">{_e(s.where)}</span> {_e(s.question)}</li>' for s in item.seeds)
    rationale = f" &mdash; {_e(item.difficulty_rationale)}" if item.difficulty_rationale else ""
    return (f'<article class="item" id="item-{_e(item.qa_id)}">'
            f'<p class="question">{_e(item.question)}</p>'
            f'<ol class="choices" type="A">{choices}</ol>{answer}'
            f'<p class="label">KP chain</p>{_chain_html(item.chain)}'
            f'<p class="label">Source seeds</p><ul class="seeds">{seeds or "<li>(none)</li>"}</ul>'
            f'<p><b>Difficulty:</b> {_e(item.difficulty_text)}{rationale}</p>'
            f'<p><b>Verification:</b> <span class="verdict">{_e(item.verification_text)}</span></p>'
            f'<p class="note">{_e(item.qa_id)}</p></article>')


def items_html(items: Sequence[ItemToLookAt]) -> str:
    """An HTML fragment: one heading per discipline, then its items; every text escaped."""
    if not items:
        return '<p class="note">(no released items)</p>'
    return "".join(f'<div class="discipline-items"><h3>{_e(discipline)}</h3>{"".join(map(_item_html, group))}</div>'
                   for discipline, group in _by_discipline(items))


# --- markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def _md(text: Any) -> str:
    """Text safe inside a markdown line or table cell: one line, HTML escaped, markdown
    punctuation backslash-escaped."""
    one_line = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))


def _item_markdown(number: int, item: ItemToLookAt) -> str:
    key = item.key_index
    lines = [f"#### Item {number}", "", f"**Q:** {_md(item.question)}", ""]
    lines += [f"- **{_letter(i)}. {_md(c)}** (key)" if i == key else f"- {_letter(i)}. {_md(c)}"
              for i, c in enumerate(item.choices)]
    if key is None:
        lines.append(f"- answer: {_md(item.answer)}")
    lines.append("")
    chain = " → ".join(_md(step.name) for step in item.chain) or "(none)"
    lines += [f"- KP chain: {chain}",
              "- source seeds: " + ("; ".join(_md(s.where) for s in item.seeds) or "(none)"),
              f"- difficulty: {_md(item.difficulty_text)}"
              + (f" ({_md(item.difficulty_rationale)})" if item.difficulty_rationale else ""),
              f"- verification: {_md(item.verification_text)}",
              f"- qa_id: {_md(item.qa_id)}", ""]
    return "\n".join(lines)


def items_markdown(items: Sequence[ItemToLookAt], heading: str = "## Items to look at") -> str:
    """The items as a markdown section: a sub-heading per discipline, then its items."""
    parts = [heading, "",
             "A few released items per discipline, spread over the levels judged: the question, its "
             "choices and key, the KP chain it was walked from, its source seeds (file:line), the "
             "difficulty judged and the verifier's verdict.", ""]
    if not items:
        parts.append("_(no released items)_")
    for discipline, group in _by_discipline(items):
        parts += [f"### {_md(discipline)}", ""]
        parts += [_item_markdown(n, item) for n, item in enumerate(group, start=1)]
    return "\n".join(parts).rstrip() + "\n"

