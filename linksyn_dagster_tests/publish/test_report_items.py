"""Items to look at: which items are picked, what each record holds, and both renderings
(every model-written text escaped, the KP chain drawn, seeds as file:line, the verdict)."""

from __future__ import annotations

from html.parser import HTMLParser

import polars as pl

from linksyn_dagster.publish.html_report import ReportSection, render_html_report
from linksyn_dagster.publish.report_items import (
    items_html, items_markdown, items_to_look_at, pick_items, picked_seed_ids,
)

HOSTILE = "<script>alert('x')</script> | pipe\nnew line **bold** [link](http://evil)"


def _release() -> pl.DataFrame:
    rows = []
    for n, level in enumerate([1, 1, 2, 3, 4, 5, 5, None]):  # physics: every level, two of 1 and 5
        rows.append({"qa_id": f"p{n}", "discipline": "physics", "difficulty": level})
    rows += [{"qa_id": "l2", "discipline": "law", "difficulty": 3}, {"qa_id": "l1", "discipline": "law",
                                                                     "difficulty": 3}]
    rows.append({"qa_id": "c1", "discipline": "chemistry", "difficulty": None})
    frame = pl.DataFrame(rows, schema={"qa_id": pl.Utf8, "discipline": pl.Utf8, "difficulty": pl.Int64})
    return frame.with_columns(
        question=pl.format("question {}", "qa_id"), choices=pl.lit(["w", "x", "y", "z"]), answer=pl.lit("C"),
        path_kp_ids=pl.lit(["k1", "k2", "k9"]), source_seed_ids=pl.lit(["s1", "s2"]),
        target_difficulty=pl.col("difficulty"), difficulty_rationale=pl.lit("needs two steps"),
        verdict=pl.lit("agrees"), verifier_answers=pl.lit(["C", "C", "B"]), verifier_model=pl.lit("verifier-m"))


def test_pick_spreads_each_discipline_over_its_levels_and_is_stable():
    release = _release()
    picked = pick_items(release)
    # physics: levels 1..5 and unjudged, three spread from the easiest to the last (unjudged),
    # the lowest qa_id of each level; law: its two items; chemistry: its one
    assert list(picked.select("discipline", "qa_id").iter_rows()) == [
        ("chemistry", "c1"), ("law", "l1"), ("law", "l2"), ("physics", "p0"), ("physics", "p3"), ("physics", "p7")]
    assert pick_items(release.sample(fraction=1.0, shuffle=True, seed=3)).equals(picked)
    assert pick_items(release, per_discipline=1).get_column("qa_id").to_list() == ["c1", "l1", "p3"]
    five = pick_items(release.filter(pl.col("difficulty").is_not_null()), per_discipline=7)
    # fewer levels than wanted: one of each level in turn, then the second of each
    assert five.filter(pl.col("discipline") == "physics").get_column("qa_id").to_list() == [
        "p0", "p2", "p3", "p4", "p5", "p1", "p6"]
    assert pick_items(release.clear()).height == 0
    assert picked_seed_ids(picked).get_column("seed_id").to_list() == ["s1", "s2"]


def _items(question: str = "question", kp_name: str = "Newton's laws"):
    picked = _release().filter(pl.col("qa_id") == "p3").with_columns(
        question=pl.lit(question), choices=pl.lit(["w", "x", question, "z"]))
    seeds = pl.DataFrame({"seed_id": ["s1", "s2"], "source_file": ["seeds/physics.csv", "seeds/more.jsonl"],
                          "source_line": [12, None], "question": ["seed one?", question]})
    kps = pl.DataFrame({"kp_id": ["k1", "k2"], "name": [kp_name, "momentum"],
                        "primary_discipline": ["physics", "physics"]})
    return items_to_look_at(picked, seeds, kps)


def test_records_hold_the_chain_the_seeds_the_difficulty_and_the_verdict():
    [item] = _items()
    assert [(s.kp_id, s.name) for s in item.chain] == [("k1", "Newton's laws"), ("k2", "momentum"), ("k9", "k9")]
    assert [s.where for s in item.seeds] == ["seeds/physics.csv:12", "seeds/more.jsonl"]
    assert item.key_index == 2 and item.choices[2] == "question"
    assert item.difficulty_text == "judged 3 (asked for 3)"
    assert item.verification_text == "agrees: the verifier (verifier-m) answered C, C, B against the key C"
    missing = items_to_look_at(pick_items(_release()).head(1), pl.DataFrame(schema={"seed_id": pl.Utf8}),
                               pl.DataFrame(schema={"kp_id": pl.Utf8}))
    assert missing[0].seeds[0].where == "seed s1 (not in seed_qa)"


class _Text(HTMLParser):
    """Tags seen, and the text of every element with a class (by class)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.by_class: dict[str, list[str]] = {}
        self._stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._stack.append(dict(attrs).get("class"))

    def handle_endtag(self, tag):
        self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1]:
            self.by_class.setdefault(self._stack[-1], []).append(data)


def test_html_escapes_every_text_and_draws_the_chain():
    items = _items(question=HOSTILE, kp_name="<img src=x onerror=alert(1)>")
    html = render_html_report("r", [ReportSection("Items to look at", fragment=items_html(items))])
    parser = _Text()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags and "a" not in parser.tags
    assert parser.by_class["question"] == [HOSTILE]
    assert parser.by_class["kp"] == ["<img src=x onerror=alert(1)>", "momentum", "k9"]  # in walk order
    assert parser.by_class["link"] == ["→", "→"]
    assert parser.by_class["kp-discipline"] == ["physics", "physics"]
    assert parser.by_class["where"] == ["seeds/physics.csv:12", "seeds/more.jsonl"]
    assert parser.by_class["key"] == [HOSTILE + " "]  # the key's choice is marked
    assert parser.by_class["verdict"][0].startswith("agrees: the verifier")
    assert "<h3>physics</h3>" in html and "judged 3 (asked for 3)" in html
    assert "href" not in html  # the markdown-looking link stays text
    assert items_html([]) == '<p class="note">(no released items)</p>'


def test_markdown_keeps_each_text_on_its_line_and_escapes_it():
    markdown = items_markdown(_items(question=HOSTILE, kp_name="a|b"))
    assert markdown.startswith("## Items to look at\n") and "### physics\n\n#### Item 1\n" in markdown
    [question] = [line for line in markdown.splitlines() if line.startswith("**Q:**")]
    assert question == ("**Q:** &lt;script&gt;alert('x')&lt;/script&gt; \\| pipe new line \\*\\*bold\\*\\* "
                        "\\[link\\](http://evil)")
    assert "- **C. &lt;script&gt;" in markdown and "(key)" in markdown
    assert "- KP chain: a\\|b → momentum → k9" in markdown
    assert "- source seeds: seeds/physics.csv:12; seeds/more.jsonl" in markdown
    assert "- difficulty: judged 3 (asked for 3) (needs two steps)" in markdown
    assert "- verification: agrees: the verifier (verifier-m) answered C, C, B against the key C" in markdown
    assert "<script>" not in markdown
    assert "_(no released items)_" in items_markdown([])
