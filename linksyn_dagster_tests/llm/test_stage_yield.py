"""The yield of an LLM stage: the share of its requests that failed, and the verdict naming
the failure classes (pure logic; the check on real runs is in test_llm_yield.py)."""

from __future__ import annotations

from linksyn_dagster.llm.stage_yield import StageYield, yield_verdict
from linksyn_dagster.llm.store import StoredFailure, StoredResult
from linksyn_dagster.llm.types import LLMOutcome


def _ok(n: int, from_cache: bool = False) -> LLMOutcome:
    result = StoredResult(request_key=f"k{n}", stage="s", item_id=f"i{n}", model="m", prompt_version="v1",
                          content="{}", reasoning=None, parsed_json="{}", prompt_tokens=1, completion_tokens=1,
                          reasoning_tokens=0, cost_usd=0.0, latency_s=0.1, attempts=1, created_at=0.0)
    return LLMOutcome(f"i{n}", f"k{n}", result, None, from_cache)


def _failed(n: int, error_class: str) -> LLMOutcome:
    failure = StoredFailure(request_key=f"f{n}", stage="s", item_id=f"f{n}", model="m", prompt_version="v1",
                            error_class=error_class, message="boom", attempts=4, created_at=0.0)
    return LLMOutcome(f"f{n}", f"f{n}", None, failure, False)


def test_the_share_counts_every_request_answers_from_the_store_too():
    outcomes = [_ok(1), _ok(2, from_cache=True), _ok(3, from_cache=True), _failed(1, "Timeout")]
    stage = StageYield.of("kp_extraction", outcomes)
    assert (stage.requests, stage.failed, stage.share) == (4, 1, 0.25)
    assert stage.too_low(0.2) and not stage.too_low(0.25)


def test_failure_classes_are_counted_most_first_and_the_verdict_names_the_top_three():
    outcomes = [_ok(1), *(_failed(n, "InternalServerError") for n in range(4)),
                *(_failed(n + 10, "Timeout") for n in range(2)), _failed(20, "InvalidReply"),
                _failed(21, "APIConnectionError")]
    stage = StageYield.of("qa_synthesis", outcomes)
    assert stage.classes == (("InternalServerError", 4), ("Timeout", 2), ("APIConnectionError", 1),
                             ("InvalidReply", 1))
    passed, description = yield_verdict([stage], 0.2)
    assert not passed
    assert description == ("qa_synthesis: 8 of 9 request(s) failed (89%, more than the 20% allowed); failure "
                           "classes: InternalServerError ×4, Timeout ×2, APIConnectionError ×1 and 1 more")


def test_one_stage_yielding_too_little_fails_a_writer_of_two_and_is_named_first():
    judge = StageYield.of("difficulty_judge", [_ok(n) for n in range(9)] + [_failed(1, "Timeout")])
    rewrite = StageYield.of("difficulty_rewrite", [_failed(n, "InvalidReply") for n in range(3)])
    passed, description = yield_verdict([judge, rewrite], 0.2)
    assert not passed
    assert description.startswith("difficulty_rewrite: 3 of 3 request(s) failed (100%, more than the 20% allowed)")
    assert "difficulty_judge: 1 of 10 request(s) failed (10%, within the 20% allowed)" in description
    assert yield_verdict([judge], 0.2)[0]


def test_a_stage_with_no_requests_passes_and_a_zero_share_allows_no_failure():
    assert yield_verdict([StageYield.of("answer_verification", [])], 0.0) == (
        True, "answer_verification: 0 of 0 request(s) failed (0%, within the 0% allowed)")
    assert yield_verdict([], 0.2) == (True, "no LLM requests")
    assert not yield_verdict([StageYield.of("s", [_ok(1)] * 99 + [_failed(1, "Timeout")])], 0.0)[0]
