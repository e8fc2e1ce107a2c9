"""The simulated model's behaviour matches its settings (pure logic: request bodies in,
replies out), so a control benchmark against it measures the loop, not the simulator."""

from __future__ import annotations

import json

import pytest

from linksyn_dagster.core.prompting import format_choices, format_questions
from linksyn_dagster.llm.prompts import load_prompt
from linksyn_dagster.testing.simulated import SimulatedModel, truth_of

N = 3000


def _body(messages):
    return {"messages": messages}


def _synthesis(i: int, level: int | None):
    prompt = load_prompt("qa_synthesis", 2 if level else 1)
    return _body(prompt.render(schema="{}", language="English", level=level or "",
                               chain=f"force {i} → energy → momentum", seeds=f"Q{i}: what is work done by a spring?"))


@pytest.mark.parametrize("follow_p, skew", [(0.5, 2), (0.8, 4), (0.2, 1)])
def test_the_generator_honours_the_level_at_its_rate_and_drifts_to_the_skew(follow_p, skew):
    model = SimulatedModel(follow_p=follow_p, skew_level=skew, wrong_key_rate=0.15)
    items = [model.synthesize(_synthesis(i, 5)) for i in range(N)]
    truths = [truth_of(item["question"]) for item in items]
    assert all(t is not None for t in truths)
    honoured = sum(t.level == 5 for t in truths) / N
    assert honoured == pytest.approx(follow_p, abs=0.03)
    assert {t.level for t in truths} <= {5, skew}
    wrong = sum(item["answer"] != t.correct for item, t in zip(items, truths)) / N
    assert wrong == pytest.approx(0.15, abs=0.02)
    assert all(len(set(item["choices"])) == 4 for item in items)


def test_without_a_level_the_generator_writes_its_own_mix():
    model = SimulatedModel(follow_p=0.5, skew_level=2)
    levels = [truth_of(model.synthesize(_synthesis(i, None))["question"]).level for i in range(N)]
    # asked a uniform level, kept with p = 0.5, else the skew: level 2 holds 0.5 + 0.5 / 5
    assert levels.count(2) / N == pytest.approx(0.6, abs=0.03)
    assert levels.count(5) / N == pytest.approx(0.1, abs=0.02)


def _judge_call(judge, items, attempt=1):
    return _body(judge.render(schema="{}", count=len(items), discipline="physics", attempt=attempt,
                              questions=format_questions(items)))


@pytest.mark.parametrize("noise, accuracy", [(0.0, 1.0), (0.3, 0.85), (0.6, 0.6)])
def test_the_judge_is_off_by_one_at_its_rate_and_solves_as_the_verifier_does(noise, accuracy):
    model = SimulatedModel(judge_noise=noise, verifier_accuracy=accuracy)
    judge = load_prompt("difficulty_judge")
    items = [{"question": f"Question number {i} about forces [sim {i:012x} L{1 + i % 5} B]", "choices": list("wxyz")}
             for i in range(N)]
    readings, right = [], 0
    for start in range(0, N, 6):  # calls of six questions: a reading of each, in their order
        shown = items[start:start + 6]
        reply = model.judge(_judge_call(judge, shown))["readings"]
        assert len(reply) == len(shown)
        readings.extend((truth_of(item["question"]).level, r["level"]) for item, r in zip(shown, reply))
        right += sum(r["answer"] == "B" for r in reply)
    assert "Correct answer" not in _judge_call(judge, items[:2])["messages"][1]["content"]  # no key shown
    assert all(abs(true - read) <= 1 and 1 <= read <= 5 for true, read in readings)
    assert sum(true != read for true, read in readings) / N == pytest.approx(noise, abs=0.03)
    assert right / N == pytest.approx(accuracy, abs=0.03)
    # a question's reading is its own: the same alone or beside others, and another reading
    # number draws again
    alone = [model.judge(_judge_call(judge, [item]))["readings"][0] for item in items[:60]]
    assert alone == [r for start in range(0, 60, 6)
                     for r in model.judge(_judge_call(judge, items[start:start + 6]))["readings"]]
    again = [model.judge(_judge_call(judge, [item], attempt=2))["readings"][0] for item in items[:60]]
    if noise:
        assert again != alone


@pytest.mark.parametrize("accuracy", [0.6, 0.85, 1.0])
def test_the_verifier_answers_the_correct_letter_at_its_rate_and_attempts_are_independent(accuracy):
    model = SimulatedModel(verifier_accuracy=accuracy)
    verify = load_prompt("answer_verification")
    right, differ = 0, 0
    for i in range(N // 3):
        question = f"Question number {i} about forces [sim {i:012x} L3 C]"
        answers = [model.verify(_body(verify.render(schema="{}", attempt=a, discipline="physics", question=question,
                                                    choices=format_choices(list("wxyz")))))["answer"]
                   for a in (1, 2, 3)]
        right += answers.count("C")
        differ += len(set(answers)) > 1
    assert right / N == pytest.approx(accuracy, abs=0.03)
    assert (differ > 0) == (accuracy < 1.0)


def test_a_rewrite_moves_toward_the_level_asked_and_draws_a_new_key():
    model = SimulatedModel(follow_p=1.0, wrong_key_rate=0.0)
    rewrite = load_prompt("difficulty_rewrite")
    body = _body(rewrite.render(schema="{}", current_level=2, target_level=4, direction="harder", count=2,
                                discipline="physics", kps="force", question="Old one [sim 0000000000aa L2 A]",
                                choices=format_choices(list("wxyz")), answer="A"))
    items = model.rewrite(body)["items"]
    truths = [truth_of(item["question"]) for item in items]
    assert len(items) == 2 and truths[0].item_id != truths[1].item_id
    assert all(t.level == 4 and t.item_id != "0000000000aa" and item["answer"] == t.correct
               for item, t in zip(items, truths))
    assert model.rewrite(body)["items"] == items  # deterministic per request


@pytest.mark.parametrize("follow_p, correlation", [(0.35, 0.0), (0.7, 0.0), (0.35, 0.5), (0.5, 1.0)])
def test_the_versions_of_one_call_drift_on_their_own_or_together(follow_p, correlation):
    model = SimulatedModel(follow_p=follow_p, skew_level=1, wrong_key_rate=0.2, versions_correlation=correlation)
    prompt = load_prompt("qa_synthesis")
    calls = [model.synthesize(_body(prompt.render(schema="{}", language="English", level=4, count=3,
                                                  chain=f"force {i} → energy", seeds=f"Q{i}: work?")))["items"]
             for i in range(N // 3)]
    truths = [[truth_of(item["question"]) for item in items] for items in calls]
    assert all(len(t) == 3 and len({v.item_id for v in t}) == 3 for t in truths)
    # each version honours the level at the rate; two of a call both do with probability
    # c p + (1 - c) p^2 (c: the share of calls whose versions drift together)
    first = [t[0].level == 4 for t in truths]
    second = [t[1].level == 4 for t in truths]
    assert sum(first) / len(first) == pytest.approx(follow_p, abs=0.04)
    both = sum(a and b for a, b in zip(first, second)) / len(first)
    assert both == pytest.approx(correlation * follow_p + (1 - correlation) * follow_p ** 2, abs=0.04)
    wrong = sum(item["answer"] != t.correct for items, ts in zip(calls, truths) for item, t in zip(items, ts))
    assert wrong / (3 * len(calls)) == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("bad", [{"follow_p": 1.5}, {"skew_level": 0}, {"verifier_accuracy": -0.1}])
def test_settings_out_of_range_are_refused(bad):
    with pytest.raises(ValueError):
        SimulatedModel(**bad)


def test_the_server_answers_as_the_simulated_model_and_still_injects_faults(llm_server):
    import litellm

    llm_server.configure(simulate={"follow_p": 1.0}, fault_rate=1.0, faults=["500"], max_faults_per_request=1)
    messages = load_prompt("qa_synthesis").render(schema="{}", language="English", level=4, count=2,
                                                  chain="force → energy", seeds="Q: what is work?")
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
                           messages=messages, response_format={"type": "json_object"}, max_retries=0)
    reply = litellm.completion(model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
                               messages=messages, response_format={"type": "json_object"}, max_retries=0)
    items = json.loads(reply.choices[0].message.content)["items"]
    assert len(items) == 2 and all(truth_of(i["question"]).level == 4 and len(i["choices"]) == 4 for i in items)
    with pytest.raises(ValueError, match="follow_p"):
        llm_server.configure(simulate={"follow_p": 2})
