"""The HTML report is one self-contained file: charts inlined as data URIs, no external
reference of any kind, every value escaped."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from html.parser import HTMLParser

import polars as pl
from PIL import Image

from linksyn_dagster.core.metrics import distribution_vs_target
from linksyn_dagster.publish.charts import discipline_chart
from linksyn_dagster.publish.html_report import ReportSection, render_html_report, write_html_report


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [(tag, k, v or "") for k, v in attrs if k in {"src", "href", "srcset", "action", "data"}]
        self._in_cell = tag == "td"

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)

    def handle_endtag(self, tag):
        self._in_cell = False


def test_report_is_self_contained_and_escaped(tmp_path):
    chart = discipline_chart(distribution_vs_target({"physics": 3, "law": 1}, {}), tmp_path / "d.png")
    table = pl.DataFrame({"discipline": ["physics", "<script>alert(1)</script>"], "items": [3, 1],
                          "share": [0.75, 0.25], "flags": [["a", "b"], []]})
    path = write_html_report(
        tmp_path / "out" / "report.html", "LinkSyn & friends",
        [ReportSection("Disciplines", text="First paragraph.\n\nSecond <b>not bold</b>.", image=chart, table=table),
         ReportSection("Empty table", table=[]),
         ReportSection("Long table", table=[{"n": i} for i in range(30)], max_rows=10)],
        summary={"items": 4, "kp_coverage": 0.8123, "cost_usd": 0.000123},
        generated_at=datetime(2026, 8, 1, 12, 0, tzinfo=UTC),
    )
    html = path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert "script" not in parser.tags and "b" not in parser.tags and "link" not in parser.tags
    assert [r for r in parser.refs if not r[2].startswith("data:image/png;base64,")] == []
    images = [r[2] for r in parser.refs if r[0] == "img"]
    assert len(images) == 1
    png = base64.b64decode(images[0].split(",", 1)[1])
    assert png == chart.read_bytes()
    Image.open(io.BytesIO(png)).verify()
    assert "<script>alert(1)</script>" in parser.cells and "a, b" in parser.cells
    assert "0.750" in parser.cells and "LinkSyn &amp; friends" in html
    assert "0.000123" in html and "0.812" in html and "2026-08-01 12:00 UTC" in html
    assert "(none)" in html and "20 more rows not shown." in html
    assert "http://" not in html and "https://" not in html and "url(" not in html
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_render_without_sections():
    html = render_html_report("Empty", [])
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
