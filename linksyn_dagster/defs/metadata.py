"""Materialization metadata every asset page shows: row count, column schema, preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 5
_CELL_CHARS = 80


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


def preview_markdown(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    if df.is_empty():
        return "_(no rows)_"
    head = df.head(rows)
    columns = head.columns

    def cell(value: Any) -> str:
        text = " ".join(str(value).split()) if value is not None else ""
        text = text.replace("|", "\\|")
        return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)


def table_metadata(df: pl.DataFrame, descriptions: dict[str, str],
                   preview_columns: list[str] | None = None) -> dict[str, Any]:
    shown = df.select(preview_columns) if preview_columns else df
    return {
        "dagster/row_count": df.height,
        "dagster/column_schema": column_schema(df, descriptions),
        "preview": dg.MetadataValue.md(preview_markdown(shown)),
    }
