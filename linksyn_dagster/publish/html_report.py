"""One self-contained HTML report: summary figures, charts and tables in a single file.

Charts are embedded as ``data:`` URIs and the style sheet is inline, so the file opens
anywhere (mail attachment, object storage, offline) with no other file and no network.
Every value is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from linksyn_dagster.publish.charts import png_data_uri

__all__ = ["ReportSection", "render_html_report", "write_html_report"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 960px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.generated { color: #777; font-size: 0.85rem; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 0.6rem; margin: 1rem 0; }
.summary div { background: #f4f6f9; border-radius: 6px; padding: 0.5rem 0.7rem; }
.summary .label { color: #666; font-size: 0.75rem; }
.summary .value { font-size: 1.15rem; font-weight: 600; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.55rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f6f9; }
img { max-width: 100%; height: auto; }
.note { color: #555; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.item { border: 1px solid #ddd; border-radius: 6px; padding: 0.4rem 0.9rem; margin: 0.6rem 0; }
.item p { margin: 0.35rem 0; }
.item .question { font-weight: 600; }
.item .choices { margin: 0.2rem 0; }
.item .choices .key { font-weight: 600; }
.item .mark { color: #2f7d32; font-size: 0.8rem; }
.item .label { color: #666; font-size: 0.75rem; text-transform: uppercase; margin-bottom: 0.1rem; }
.item .seeds { font-size: 0.85rem; margin: 0.2rem 0; }
.item .where { font-family: ui-monospace, monospace; background: #f4f6f9; padding: 0 0.25rem; }
.chain { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem; margin: 0.2rem 0; }
.chain .kp { border: 1px solid #3b6ea8; background: #eef3f9; border-radius: 12px; padding: 0.1rem 0.6rem;
             font-size: 0.85rem; }
.chain .kp-discipline { color: #666; font-size: 0.7rem; margin-left: 0.35rem; }
.chain .link { color: #3b6ea8; font-weight: 600; }
"""


@dataclass(frozen=True)
class ReportSection:
    """A heading with any of: a paragraph, a chart (PNG path), a table, and an HTML
    ``fragment`` the caller built with every text escaped (e.g. ``report_items.items_html``)."""

    title: str
    text: str = ""
    image: Path | str | None = None
    image_alt: str = ""
    table: pl.DataFrame | Sequence[Mapping[str, Any]] | None = None
    max_rows: int = 200
    fragment: str = ""


def _format(value: Any) -> tuple[str, bool]:
    """(text, is_number) of a table cell."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value).lower(), False
    if isinstance(value, float):
        text = f"{value:.3f}" if value == 0 or abs(value) >= 0.01 else f"{value:.3g}"
        return text, True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value), False
    return str(value), False


def _table(data: pl.DataFrame | Sequence[Mapping[str, Any]], max_rows: int) -> str:
    rows = data.to_dicts() if isinstance(data, pl.DataFrame) else [dict(r) for r in data]
    if not rows:
        return '<p class="note">(none)</p>'
    columns = list(data.columns) if isinstance(data, pl.DataFrame) else list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows[:max_rows]:
        cells = []
        for column in columns:
            text, number = _format(row.get(column))
            cells.append(f'<td class="num">{html.escape(text)}</td>' if number else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(rows) - max_rows} more rows not shown.</p>' if len(rows) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def render_html_report(
    title: str,
    sections: Sequence[ReportSection],
    *,
    summary: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The report as one HTML document (charts inlined as data URIs)."""
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="generated">generated {html.escape(when)}</p>',
    ]
    if summary:
        tiles = "".join(
            f'<div><div class="label">{html.escape(str(k))}</div>'
            f'<div class="value">{html.escape(_format(v)[0])}</div></div>'
            for k, v in summary.items()
        )
        parts.append(f'<div class="summary">{tiles}</div>')
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts += [f"<p>{html.escape(p)}</p>" for p in section.text.split("\n\n") if p.strip()]
        if section.image is not None:
            alt = html.escape(section.image_alt or section.title)
            parts.append(f'<img alt="{alt}" src="{png_data_uri(section.image)}">')
        if section.table is not None:
            parts.append(_table(section.table, section.max_rows))
        if section.fragment:
            parts.append(section.fragment)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(
    path: Path | str,
    title: str,
    sections: Sequence[ReportSection],
    *,
    summary: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """Write :func:`render_html_report` to ``path`` (atomically) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html_report(title, sections, summary=summary, generated_at=generated_at), encoding="utf-8")
    tmp.replace(path)
    return path
