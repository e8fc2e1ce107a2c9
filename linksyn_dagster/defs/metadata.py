"""Materialization metadata every asset page shows: row count, column schema, preview; and
the side tables as assets.

Side tables (``sql/duckdb/schema.sql``: rejects, KP links and co-occurrences, LLM usage and
failures, dataset drops, decontamination hits) are written by an asset's body through
``WarehouseResource.replace``, beside its output. Each is declared with ``side_table_spec``
(description, column schema, the assets it is computed from, the assets that read it) and
the writing body reports every write as a materialization of it with its row count
(``side_table_materialization``). They are asset specs of their own rather than outputs of
their writer turned into a multi_asset: a multi_asset runs whole or not at all, so every
selection of a single stage (the jobs, ``linksyn run``'s stage runs, ``dagster asset
materialize --select seed_qa``) would have to name its side tables too; and no asset key can
have two producers, while several assets write ``llm_usage``, ``llm_failures`` and
``decontamination_hits``. Such a table has one asset per writer, keyed
``<table>/<writer>``: exactly the rows that writer replaces (see ``defs/llm_stage.py``). A
side table cannot be materialized on its own (Dagster shows it as an external asset): its
writer's materialization writes and reports it."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

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


def side_table_spec(key: str | Sequence[str], description: str, descriptions: dict[str, str],
                    schema: Mapping[str, Any], *, written_by: str, group_name: str,
                    deps: Iterable[dg.AssetDep | str] = (),
                    partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetSpec:
    """A side table as an asset: its key (the table, or ``[table, writer]`` for one writer's
    rows of a shared table), its column schema (``schema``: polars types of its columns), the
    asset whose body writes it and the assets it is computed from."""
    key = dg.AssetKey(key)
    return dg.AssetSpec(
        key, description=description, deps=list(deps), group_name=group_name, partitions_def=partitions_def,
        kinds={"duckdb"}, metadata={
            "dagster/table_name": key.path[0],
            "dagster/column_schema": column_schema(pl.DataFrame(schema=dict(schema)), descriptions),
            "written_by": written_by,
        })


def side_table_materialization(key: str | Sequence[str], rows: pl.DataFrame, descriptions: dict[str, str],
                               partition: str | None = None) -> dg.AssetMaterialization:
    """A write of ``rows`` (all the rows of the table, or of the writer's slice of it) as a
    materialization of the side table ``key``: row count, column schema, preview."""
    return dg.AssetMaterialization(dg.AssetKey(key), partition=partition,
                                   metadata=table_metadata(rows, descriptions))
