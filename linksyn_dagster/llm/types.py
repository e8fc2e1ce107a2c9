"""What an LLM stage hands the client and gets back, one per item. Plain data, without
litellm: asset definitions import these, and loading the definitions (the UI, the daemon,
every run process, `dg check defs`) does not pay for importing litellm."""

from __future__ import annotations

from dataclasses import dataclass

from linksyn_dagster.llm.store import StoredFailure, StoredResult


@dataclass(frozen=True)
class LLMRequest:
    item_id: str
    messages: list[dict[str, str]]


@dataclass(frozen=True)
class LLMOutcome:
    item_id: str
    request_key: str
    result: StoredResult | None
    failure: StoredFailure | None
    from_cache: bool

    @property
    def ok(self) -> bool:
        return self.result is not None
