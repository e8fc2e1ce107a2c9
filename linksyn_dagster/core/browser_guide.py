"""The Neo4j Browser guide of the KP graph: the example queries of
``sql/cypher/browser/examples.cypher``, one slide each, every query a runnable block (a click
puts it in Browser's editor; the play icon beside it runs it).

Browser plays a guide with ``:play <url>`` when the URL's host is on the server's
``browser.remote_content_hostname_whitelist``; it fetches the page cross-origin and shows each
``<slide>`` of it as a slide of a frame, running ``pre.runnable`` blocks on click. The local
server serves this page beside Neo4j (``services/guide_server.py``) and tells Browser to play
it after connecting (``browser.post_connect_cmd``).

Pure Python: parsing the examples and writing the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["GUIDE_TITLE", "Example", "examples", "guide_html", "post_connect_command"]

GUIDE_TITLE = "LinkSyn: the KP graph"
_NUMBER = re.compile(r"^\d+\.\s*")


@dataclass(frozen=True)
class Example:
    title: str
    notes: str  # the explanation, "" if none
    query: str  # as it is pasted into Browser, with its final ';'


def examples(script: str) -> list[Example]:
    """The queries of an examples file: each ends with ``;`` at the end of a line, and the
    ``//`` comment lines right above it (no blank line between) are its title (the first,
    without its number) and its notes (the others). Comments further up (the file's header)
    belong to no query."""
    found = []
    for chunk in re.split(r";[ \t]*$", script, flags=re.M):
        lines = chunk.strip().splitlines()
        code_at = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("//")),
                       None)
        if code_at is None:
            continue  # the comments after the last query
        comments: list[str] = []
        for line in reversed(lines[:code_at]):
            if not line.lstrip().startswith("//"):
                break  # a blank line ends the query's comment block
            comments.insert(0, line.lstrip().removeprefix("//").strip())
        if not comments:
            raise ValueError(f"the example query starting {lines[code_at].strip()!r} has no title comment")
        query = "\n".join(line.rstrip() for line in lines[code_at:]) + ";"
        found.append(Example(title=_NUMBER.sub("", comments[0]), notes=" ".join(comments[1:]), query=query))
    return found


def guide_html(queries: list[Example]) -> str:
    """The guide page: a slide per query (title, notes, the query as a runnable block), the
    first one opening with what the guide is. All text is escaped: ``<>`` in a query stays
    Cypher, not markup."""
    slides = []
    for number, example in enumerate(queries, start=1):
        intro = ""
        if number == 1:
            intro = ("<p class=\"lead\">The example queries of <code>sql/cypher/browser/examples.cypher</code>, "
                     f"one per slide ({len(queries)} in all). Click a query to put it in the editor and run it "
                     "there, or click its play icon to run it at once. <code>linksyn neo4j status</code> prints "
                     "this page's address (<code>guide_url</code>): <code>:play</code> it to bring the guide "
                     "back.</p>\n")
        notes = f"<p>{html.escape(example.notes)}</p>\n" if example.notes else ""
        slides.append(
            "<slide class=\"row-fluid\">\n<div class=\"col-sm-12\">\n"
            f"<h3>{number}. {html.escape(example.title)}</h3>\n{intro}{notes}"
            f"<pre class=\"pre-scrollable code runnable\">{html.escape(example.query)}</pre>\n"
            "</div>\n</slide>\n")
    return (f"<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{html.escape(GUIDE_TITLE)}</title>\n"
            "</head>\n<body>\n<article class=\"guide\">\n<carousel class=\"deck container-fluid\">\n"
            + "".join(slides) + "</carousel>\n</article>\n</body>\n</html>\n")


def post_connect_command(*commands: str) -> str:
    """Browser commands (without their colons) as one ``browser.post_connect_cmd`` value:
    Browser splits it at ``;`` outside quotes and runs the parts in order. A part holding a
    ``;`` itself would be split, so none may."""
    for command in commands:
        if ";" in command:
            raise ValueError(f"a post-connect command holds a ';', which would split it: {command[:80]!r}")
    return ";".join(commands)
