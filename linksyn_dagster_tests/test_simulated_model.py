"""The simulated model's behaviour matches its settings (pure logic: request bodies in,
replies out), so a control benchmark against it measures the loop, not the simulator."""

from __future__ import annotations

import json

import pytest

from linksyn_dagster.core.prompting import format_choices
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


@pytest.mark.parametrize("noise, accuracy", [(0.0, 1.0), (0.3, 0.85), (0.6, 0.6)])
def test_the_judge_is_off_by_one_at_its_rate_and_solves_as_the_verifier_does(noise, accuracy):
    model = SimulatedModel(judge_noise=noise, verifier_accuracy=accuracy)
    judge = load_prompt("difficulty_judge")
    readings, right = [], 0
    for i in range(N):
        level = 1 + i % 5
        question = f"Question number {i} about forces [sim {i:012x} L{level} B]"
        reply = model.judge(_body(judge.render(schema="{}", discipline="physics", question=question, attempt=1,
                                                choices=format_choices(list("wxyz")))))
        readings.append((level, reply["level"]))
        right += reply["answer"] == "B"
    assert "Correct answer" not in judge.render(schema="{}", discipline="d", question="q", attempt=1,
                                                choices="c")[1]["content"]  # the judge never sees the key
    assert all(abs(true - read) <= 1 and 1 <= read <= 5 for true, read in readings)
    assert sum(true != read for true, read in readings) / N == pytest.approx(noise, abs=0.03)
    assert right / N == pytest.approx(accuracy, abs=0.03)


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
    body = _body(rewrite.render(schema="{}", current_level=2, target_level=4, direction="harder",
                                discipline="physics", kps="force", question="Old one [sim 0000000000aa L2 A]",
                                choices=format_choices(list("wxyz")), answer="A"))
    item = model.rewrite(body)
    truth = truth_of(item["question"])
    assert truth.level == 4 and truth.item_id != "0000000000aa" and item["answer"] == truth.correct
    assert model.rewrite(body) == item  # deterministic per request


@pytest.mark.parametrize("bad", [{"follow_p": 1.5}, {"skew_level": 0}, {"verifier_accuracy": -0.1}])
def test_settings_out_of_range_are_refused(bad):
    with pytest.raises(ValueError):
        SimulatedModel(**bad)


def test_the_server_answers_as_the_simulated_model_and_still_injects_faults(llm_server):
    import litellm

    llm_server.configure(simulate={"follow_p": 1.0}, fault_rate=1.0, faults=["500"], max_faults_per_request=1)
    messages = load_prompt("qa_synthesis").render(schema="{}", language="English", level=4,
                                                  chain="force → energy", seeds="Q: what is work?")
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
                           messages=messages, response_format={"type": "json_object"}, max_retries=0)
    reply = litellm.completion(model=llm_server.litellm_model, api_base=llm_server.api_base, api_key="x",
                               messages=messages, response_format={"type": "json_object"}, max_retries=0)
    item = json.loads(reply.choices[0].message.content)
    assert truth_of(item["question"]).level == 4 and len(item["choices"]) == 4
    with pytest.raises(ValueError, match="follow_p"):
        llm_server.configure(simulate={"follow_p": 2})
