"""A simulated model with known truth, as rules of the scripted server.

The quality of a real model's items can't be measured here, but the control loop can be,
against a model whose behaviour is known. Each item the simulated generator writes carries
its ground truth in its question text, as a tag ``[sim <id> L<level> <letter>]``: the item's
true difficulty and its truly correct letter. The simulated judge and verifier read the tag
(with the noise below); the pipeline's own code never does, it only sees their replies. A
benchmark recovers the truth of every released item from the tag.

* generator (synthesis, and rewrites toward a level): honours the level it is asked for with
  probability ``follow_p``, otherwise writes an item of ``skew_level``. Asked for no level
  (the open loop's prompt), it is "asked" a uniformly drawn one. The key it gives is wrong
  (another letter than the correct one) with probability ``wrong_key_rate``. Asked for
  several versions in one call, it draws each on its own, except that with probability
  ``versions_correlation`` they all honour the level or all drift, together (a real model's
  versions of one call may share its drift).
* judge: reads the true level, off by one (up or down, at random; inward at the scale's
  ends) with probability ``judge_noise``; it solves the item as it reads it (the judge's
  prompt shows no key), as the verifier does. A call showing several questions gets a
  reading of each, each drawn as if it had been asked alone.
* verifier: answers the correct letter with probability ``verifier_accuracy``, otherwise one
  of the other three at random.

Every draw is seeded by the request's hash (and ``seed``), so replies are deterministic, and
the independent attempts of the verifier, which differ in their text, draw independently.

Use: ``ScriptedLLMServer(simulate={...settings...})`` (or ``configure(simulate=...)``, or
``--simulate JSON`` on the server's command line). The server still injects its faults
first; other requests (KP extraction) get its schema-driven replies.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Any

LETTERS = "ABCD"
LEVELS = (1, 2, 3, 4, 5)
TAG = re.compile(r"\[sim (?P<id>[0-9a-f]{12}) L(?P<level>[1-5]) (?P<correct>[A-D])\]")

# what tells the stages apart: a phrase of each prompt's system message
SYNTHESIS = r"You are an expert examiner writing new, original exam questions"
REWRITE = r"rewrite it so that its difficulty becomes level"
JUDGE = r"You grade the difficulty of exam questions"
VERIFY = r"You solve multiple-choice exam questions"

QUESTION = re.compile(r"(?m)^Question \d+:\n")
_WORD = re.compile(r"[^\W\d_]{4,}")


@dataclass(frozen=True)
class Truth:
    """What the simulator knows about one item."""

    item_id: str
    level: int
    correct: str


def truth_of(question: str) -> Truth | None:
    """The ground truth carried by a simulated item's question, or None for another text."""
    match = TAG.search(question or "")
    return Truth(match["id"], int(match["level"]), match["correct"]) if match else None


@dataclass(frozen=True)
class SimulatedModel:
    follow_p: float = 0.5
    skew_level: int = 2
    wrong_key_rate: float = 0.15
    judge_noise: float = 0.3
    verifier_accuracy: float = 0.85
    versions_correlation: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("follow_p", "wrong_key_rate", "judge_noise", "verifier_accuracy", "versions_correlation"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], not {getattr(self, name)!r}")
        if self.skew_level not in LEVELS:
            raise ValueError(f"skew_level must be one of 1-5, not {self.skew_level!r}")

    def settings(self) -> dict[str, Any]:
        return asdict(self)

    def reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The reply to a synthesis, rewrite, judge or verifier request; None for any other."""
        system, _ = _texts(body)
        for marker, role in ((SYNTHESIS, self.synthesize), (REWRITE, self.rewrite), (JUDGE, self.judge),
                             (VERIFY, self.verify)):
            if re.search(marker, system):
                return role(body)
        return None

    # -- the four roles -----------------------------------------------------------------

    def synthesize(self, body: dict[str, Any]) -> dict[str, Any]:
        system, user = _texts(body)
        asked = re.search(r"Target difficulty: level ([1-5])", user)
        chain = re.search(r"Knowledge point chain: (.*)", user)
        kps = [k.strip() for k in chain[1].split("→") if k.strip()][:3] if chain else []

        def one(rng: random.Random, follows: bool | None = None) -> dict[str, Any]:
            level = self._written_level(int(asked[1]) if asked else rng.choice(LEVELS), rng, follows)
            return {**self._item(level, user, rng), "knowledge_points_used": kps or ["unnamed"]}

        return self._versions("synthesize", system, user, one)

    def rewrite(self, body: dict[str, Any]) -> dict[str, Any]:
        system, user = _texts(body)
        asked = re.search(r"to level ([1-5])", user)
        return self._versions("rewrite", system, user, lambda rng, follows=None: self._item(
            self._written_level(int(asked[1]) if asked else rng.choice(LEVELS), rng, follows), user, rng))

    def _versions(self, role: str, system: str, user: str, one) -> dict[str, Any]:
        """One item, or ``{"items": [...]}`` when the prompt asks for ``Versions wanted: n``:
        each version drawn on its own (its level, key and text), except that with probability
        ``versions_correlation`` the versions of the call all honour the level asked, or all
        drift to the skew level, together."""
        wanted = re.search(r"Versions wanted: (\d+)", user)
        if not wanted:
            return one(self._rng(role, system, user))
        call = self._rng(role, system, f"{user}|call")
        together, follows = call.random() < self.versions_correlation, call.random() < self.follow_p
        return {"items": [one(self._rng(role, system, f"{user}|version {index}"), follows if together else None)
                          for index in range(int(wanted[1]))]}

    def judge(self, body: dict[str, Any]) -> dict[str, Any]:
        """A reading of each question of the call (``Question n:`` blocks, as
        ``format_questions`` writes them), or of the one question of a single-question prompt.
        A question's reading depends on its own text and the reading's number only, not on
        the other questions of the call."""
        system, user = _texts(body)
        header, *blocks = QUESTION.split(user)
        if not blocks:
            return self._reading(truth_of(user), self._rng("judge", system, user))
        return {"readings": [self._reading(truth_of(block), self._rng("judge", header.strip(), block.strip()))
                             for block in blocks]}

    def _reading(self, truth: Truth | None, rng: random.Random) -> dict[str, Any]:
        level = truth.level if truth else rng.choice(LEVELS)
        if rng.random() < self.judge_noise:
            step = rng.choice((-1, 1))
            level = level + step if 1 <= level + step <= 5 else level - step
        return {"answer": self._solve(truth, rng), "level": level, "rationale": f"simulated reading of level {level}"}

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        system, user = _texts(body)
        rng = self._rng("verify", system, user)
        return {"answer": self._solve(truth_of(user), rng), "justification": "simulated solve"}

    # -- helpers ------------------------------------------------------------------------

    def _rng(self, role: str, system: str, user: str) -> random.Random:
        return random.Random(f"{self.seed}|{role}|{system}|{user}")

    def _solve(self, truth: Truth | None, rng: random.Random) -> str:
        """The correct letter with probability ``verifier_accuracy``, else one of the other three."""
        correct = truth.correct if truth else rng.choice(LETTERS)
        return correct if rng.random() < self.verifier_accuracy else rng.choice(
            [letter for letter in LETTERS if letter != correct])

    def _written_level(self, asked: int, rng: random.Random, follows: bool | None = None) -> int:
        """The level asked with probability ``follow_p`` (or as ``follows`` decides), else the skew."""
        drawn = rng.random() < self.follow_p
        return asked if (drawn if follows is None else follows) else self.skew_level

    def _item(self, level: int, user: str, rng: random.Random) -> dict[str, Any]:
        """A multiple-choice item of true difficulty ``level``, in the words of the prompt."""
        item_id = f"{rng.getrandbits(48):012x}"
        correct = rng.choice(LETTERS)
        key = correct if rng.random() >= self.wrong_key_rate else rng.choice(
            [letter for letter in LETTERS if letter != correct])
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(TAG.sub(" ", user)))) or ["alpha", "beta"]
        picked = [rng.choice(words) for _ in range(10)]
        question = f"Considering {' '.join(picked)}, which statement holds? [sim {item_id} L{level} {correct}]"
        choices = [f"{rng.choice(words)} {rng.choice(words)} option {item_id[:4]}{i}" for i in range(4)]
        return {"question": question, "choices": choices, "answer": key,
                "explanation": f"simulated explanation of item {item_id}"}


def _texts(body: dict[str, Any]) -> tuple[str, str]:
    messages = body.get("messages") or []
    system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
    user = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    return system, user
