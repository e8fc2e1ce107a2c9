"""The training exports' rendering: the pre-training text and the chat of an item, from the
versioned template files."""

from __future__ import annotations

from string import Template

import polars as pl
import pytest

from linksyn_dagster.publish.exports import TrainingTemplates, load_templates, messages_frame, with_text

ITEM = {"qa_id": "q1", "question": "Why does ice float on water?",
        "choices": ["It is less dense than water", "It is denser", "Surface tension", "Magnetism"],
        "answer": "A", "explanation": "Water expands as it freezes, so ice is less dense."}


def test_pretraining_text_holds_question_choices_answer_and_explanation():
    templates = load_templates()
    assert templates.text_version == "pretraining@v1" and templates.chat_version == "chat@v1"
    assert templates.render_text(ITEM) == (
        "Question: Why does ice float on water?\n\n"
        "A. It is less dense than water\nB. It is denser\nC. Surface tension\nD. Magnetism\n\n"
        "Answer: A. It is less dense than water\n\n"
        "Explanation: Water expands as it freezes, so ice is less dense.")


def test_chat_turns_ask_the_question_and_answer_with_the_explanation():
    system, user, assistant = load_templates().render_messages(ITEM)
    assert [system["role"], user["role"], assistant["role"]] == ["system", "user", "assistant"]
    assert "multiple-choice" in system["content"] and "\n" not in system["content"]
    assert user["content"] == ("Why does ice float on water?\n\n"
                               "A. It is less dense than water\nB. It is denser\nC. Surface tension\nD. Magnetism")
    assert assistant["content"] == ("The answer is A. It is less dense than water\n\n"
                                    "Water expands as it freezes, so ice is less dense.")
    assert "Answer" not in user["content"] and "less dense." not in user["content"]  # the key stays with the model


def test_item_text_is_inserted_verbatim_and_missing_values_leave_no_trailing_blanks():
    templates = load_templates()
    odd = {**ITEM, "question": "Is $price {x} a ${template}?", "explanation": None, "answer": "E"}
    text = templates.render_text(odd)
    assert text.startswith("Question: Is $price {x} a ${template}?\n")
    assert "\n\nAnswer: E.\n\n" in text  # a letter outside the choices: no answer text made up
    assert text.endswith("Explanation:") and not any(line != line.rstrip() for line in text.splitlines())


def test_exports_of_a_frame_keep_its_rows_and_order():
    frame = pl.DataFrame([ITEM, {**ITEM, "qa_id": "q2", "answer": "B"}])
    templates = load_templates()
    texted = with_text(frame, templates)
    assert texted.columns == [*frame.columns, "text"] and texted.get_column("text").dtype == pl.Utf8
    assert "Answer: B. It is denser" in texted.get_column("text")[1]
    chats = messages_frame(texted, templates)
    assert chats.get_column("qa_id").to_list() == ["q1", "q2"]
    assert chats.schema["messages"] == pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8}))
    assert chats.get_column("messages")[1].to_list()[2]["content"].startswith("The answer is B. It is denser")


def test_exports_render_a_slice_at_a_time_as_one_item_alone(monkeypatch):
    """The release renders its rows a slice at a time (memory): each row's text and turns are
    those of the item rendered alone, whatever the slice size."""
    from linksyn_dagster.publish import exports

    rows = [ITEM, {**ITEM, "qa_id": "q2", "answer": "B", "explanation": None},
            {**ITEM, "qa_id": "q3", "question": "Which is $odd?", "choices": ["x", "y"], "answer": "C"}]
    frame = pl.DataFrame(rows)
    templates = load_templates()
    for size in (1, 2, 10):
        monkeypatch.setattr(exports, "RENDER_SLICE", size)
        assert with_text(frame, templates).get_column("text").to_list() == [templates.render_text(r) for r in rows]
        chats = messages_frame(frame, templates).get_column("messages").to_list()
        assert chats == [templates.render_messages(r) for r in rows]
    assert messages_frame(frame.clear(), templates).height == 0 and with_text(frame.clear(), templates).height == 0


def test_unknown_versions_and_placeholders_are_refused():
    with pytest.raises(KeyError, match="no version 99"):
        load_templates(text_version=99)
    chat = load_templates().chat
    with pytest.raises(KeyError):  # a placeholder the items do not have fails at render, never silently
        TrainingTemplates(Template("$difficulty"), "x@v1", chat, "chat@v1").render_text(ITEM)
