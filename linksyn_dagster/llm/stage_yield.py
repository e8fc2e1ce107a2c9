"""How much of an LLM stage's work came back: the share of its requests that got no valid
answer after retries and repairs, and the error classes behind them. A stage failing more
than the allowed share (LINKSYN_LLM__MAX_FAILURE_SHARE) yields too little to go on with: a
stage that "succeeds" with every call failed is a silent failure.

Every request of a run counts, answered ones from the result store too: the store keeps
answers only, so an item that failed before is asked again and, failing again, counts again.
The share is of the data the stage hands on, whichever run paid for it. Plain data, no Dagster."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from linksyn_dagster.llm.types import LLMOutcome

TOP_CLASSES = 3  # failure classes a verdict names


@dataclass(frozen=True)
class StageYield:
    """One stage's requests in a run, those that failed, and their error classes (most first)."""

    stage: str
    requests: int
    failed: int
    classes: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, stage: str, outcomes: Sequence[LLMOutcome]) -> StageYield:
        counts = Counter(o.failure.error_class for o in outcomes if o.failure is not None)
        # most first, ties by name: the same failures always read the same
        classes = tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return cls(stage, len(outcomes), sum(counts.values()), classes)

    @property
    def share(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def too_low(self, max_share: float) -> bool:
        return self.share > max_share

    def describe(self, max_share: float) -> str:
        """One line: how many failed, against the allowed share, and the top failure classes."""
        line = (f"{self.stage}: {self.failed} of {self.requests} request(s) failed ({self.share:.0%}, "
                f"{'more than' if self.too_low(max_share) else 'within'} the {max_share:.0%} allowed)")
        if self.classes:
            top = ", ".join(f"{name} ×{count}" for name, count in self.classes[:TOP_CLASSES])
            more = len(self.classes) - TOP_CLASSES
            line += f"; failure classes: {top}" + (f" and {more} more" if more > 0 else "")
        return line


def yield_verdict(yields: Sequence[StageYield], max_share: float) -> tuple[bool, str]:
    """Whether every stage failed at most ``max_share`` of its requests, and a description
    naming each stage, the ones that failed too many first."""
    ordered = sorted(yields, key=lambda y: not y.too_low(max_share))  # stable: stages in their order
    passed = not any(y.too_low(max_share) for y in yields)
    return passed, "; ".join(y.describe(max_share) for y in ordered) or "no LLM requests"
