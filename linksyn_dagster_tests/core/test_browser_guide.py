"""The Neo4j Browser guide: the example queries parsed from their file with their titles, and
written as slides whose runnable blocks read back as the queries themselves."""

from __future__ import annotations

import html.parser

import pytest

from linksyn_dagster.core.browser_guide import GUIDE_TITLE, Example, examples, guide_html, post_connect_command
from linksyn_dagster.queries import cypher


class _Slides(html.parser.HTMLParser):
    """Per <slide>: its heading and the text of its pre.runnable blocks (entities decoded, as
    Browser's textContent reads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.slides: list[dict[str, list[str]]] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "slide":
            self.slides.append({"h3": [], "runnable": []})
        elif self.slides and (tag == "h3" or (tag == "pre" and "runnable" in classes)):
            self._in = "h3" if tag == "h3" else "runnable"
            self.slides[-1][self._in].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h3", "pre"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.slides[-1][self._in][-1] += data


def _slides(page: str) -> list[dict[str, list[str]]]:
    parser = _Slides()
    parser.feed(page)
    return parser.slides


def test_the_examples_file_holds_the_guides_queries() -> None:
    found = examples(cypher("browser/examples"))
    titles = [example.title.lower() for example in found]
    # the four: a KP's neighbourhood, a discipline's paths, the least covered KPs, KPs joining disciplines
    for words in ("neighbours", "paths", "least covered", "join two disciplines"):
        assert any(words in title for title in titles), (words, titles)
    assert all(example.query.startswith("MATCH") and example.query.endswith(";") for example in found)
    assert all(";" not in example.query[:-1] for example in found)
    assert found[0].query == ("MATCH (k:KnowledgePoint)-[e:CO_OCCURS]-(n:KnowledgePoint)\n"
                              "WITH k, e, n ORDER BY k.frequency DESC, e.weight DESC\nRETURN k, e, n LIMIT 50;")


def test_titles_notes_and_the_header_are_told_apart() -> None:
    script = ("// header, belongs to no query\n// still the header\n\n"
              "// 1. First one\n// what it shows\n// and why\nMATCH (n)\nRETURN n;\n\n"
              "// 2. Second\nRETURN '//not a comment' AS x ;\n// trailing remark\n")
    assert examples(script) == [
        Example(title="First one", notes="what it shows and why", query="MATCH (n)\nRETURN n;"),
        Example(title="Second", notes="", query="RETURN '//not a comment' AS x;"),
    ]
    with pytest.raises(ValueError, match="no title comment"):
        examples("MATCH (n) RETURN n;")


def test_the_page_is_a_slide_per_query_with_the_query_runnable_as_is() -> None:
    found = examples(cypher("browser/examples"))
    page = guide_html(found)
    assert f"<title>{GUIDE_TITLE}</title>" in page
    slides = _slides(page)
    assert [slide["runnable"] for slide in slides] == [[example.query] for example in found]
    assert [slide["h3"] for slide in slides] == [[f"{i}. {e.title}"] for i, e in enumerate(found, start=1)]
    assert "&lt;&gt;" in page  # the bridge query's '<>' is text, not a tag
    hostile = Example(title="<b>x</b>", notes="</pre><script>", query="RETURN '<script>' AS s;")
    assert _slides(guide_html([hostile])) == [{"h3": ["1. <b>x</b>"], "runnable": ["RETURN '<script>' AS s;"]}]
    assert "<script>" not in guide_html([hostile])


def test_post_connect_commands_join_in_order_and_refuse_a_semicolon() -> None:
    assert post_connect_command("style {}", "play http://127.0.0.1:1/g.html") == "style {};play http://127.0.0.1:1/g.html"
    with pytest.raises(ValueError, match="holds a ';'"):
        post_connect_command("style {}", "play http://x/a;b")
