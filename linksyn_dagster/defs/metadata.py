"""Materialization metadata every asset page shows: row count, column schema, preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 5
_CELL_CHARS = 80
# the Dagster UI renders a markdown value in place only below 1,000 characters (JavaScript
# string length, UTF-16 units); a longer preview hides behind a "[Show Markdown]" button
INLINE_MARKDOWN_LIMIT = 1000


def column_schema(df: pl.DataFrame, descriptions: dict[str, str]) -> dg.TableSchema:
    """The frame's columns with their types and descriptions (see ``defs/columns.py``);
    raises ValueError naming any column without one."""
    missing = [name for name in df.columns if not descriptions.get(name)]
    if missing:
        raise ValueError(f"no description for column(s) {missing}: add them to linksyn_dagster/defs/columns.py")
    return dg.TableSchema(columns=[
        dg.TableColumn(name, str(dtype), description=descriptions.get(name))
        for name, dtype in df.schema.items()
    ])


def _ui_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def preview_markdown(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first ``rows`` rows as a markdown table, cells cut to a few words; fewer rows
    when that many would be too long for the Dagster UI to show the table in place (at least
    one row)."""
    if df.is_empty():
        return "_(no rows)_"
    head = df.head(rows)
    columns = head.columns

    def cell(value: Any) -> str:
        text = " ".join(str(value).split()) if value is not None else ""
        text = text.replace("|", "\\|")
        return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in head.iter_rows():
        line = "| " + " | ".join(cell(v) for v in row) + " |"
        if len(lines) > 2 and _ui_length("\n".join([*lines, line])) >= INLINE_MARKDOWN_LIMIT:
            break
        lines.append(line)
    return "\n".join(lines)


def table_metadata(df: pl.DataFrame, descriptions: dict[str, str],
                   preview_columns: list[str] | None = None) -> dict[str, Any]:
    shown = df.select(preview_columns) if preview_columns else df
    return {
        "dagster/row_count": df.height,
        "dagster/column_schema": column_schema(df, descriptions),
        "preview": dg.MetadataValue.md(preview_markdown(shown)),
    }
