"""Parquet seed files: one :class:`~linksyn_dagster.core.seed_formats.records.SeedRecord`
per row, read in batches (memory stays flat for large files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from linksyn_dagster.core.seed_formats.records import SeedRecord, add_record

if TYPE_CHECKING:
    from linksyn_dagster.core.seeds import Collector

_PARQUET_FIELDS = tuple(SeedRecord.model_fields)


def load_parquet(path: Path, collector: Collector) -> None:
    """Read a Parquet file (one row per seed, ``source_line`` = row number) into ``collector``."""
    try:
        parquet = pq.ParquetFile(path)
        columns = [name for name in parquet.schema_arrow.names if name in _PARQUET_FIELDS]
        total = parquet.metadata.num_rows
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for truncated or foreign files
        collector.reject(path, None, None, f"unreadable Parquet file: {exc}")
        return
    missing = [name for name in ("question", "answer") if name not in columns]
    if missing:
        collector.reject(path, None, None, f"missing required column(s): {', '.join(missing)}")
        return
    if total == 0:
        collector.reject(path, None, None, "file is empty (0 rows)")
        return
    row = 0
    try:
        # batches keep memory flat for large files; only the schema's columns are read
        for batch in parquet.iter_batches(batch_size=2048, columns=columns):
            for record in batch.to_pylist():
                row += 1
                add_record(
                    record,
                    "parquet",
                    path,
                    row,
                    lambda r=record: json.dumps(r, ensure_ascii=False, default=str),
                    collector,
                )
    except Exception as exc:  # corrupt pages: rows read so far are kept
        collector.reject(path, row + 1, None, f"unreadable Parquet data from row {row + 1} on: {exc}")
