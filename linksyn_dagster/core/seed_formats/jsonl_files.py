"""JSONL seed files: one :class:`~linksyn_dagster.core.seed_formats.records.SeedRecord`
object per line (``.jsonl``, ``.ndjson``, ``.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from linksyn_dagster.core.seed_formats.records import add_record

if TYPE_CHECKING:
    from linksyn_dagster.core.seeds import Collector


def load_jsonl(path: Path, collector: Collector) -> None:
    """Read a JSONL file (one JSON object per line) into ``collector``."""
    rows = 0
    with open(path, "rb") as fh:
        for number, data in enumerate(fh, start=1):
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if not data.strip():
                continue
            rows += 1
            if b"\x00" in data:
                text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
                collector.reject(path, number, None, "NUL byte in line", text)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                collector.reject(
                    path, number, None, f"invalid UTF-8 at byte {exc.start}", data.decode("utf-8", errors="replace")
                )
                continue
            if rows == 1 and text.lstrip().startswith("["):
                collector.reject(path, number, None, "a JSON array is not supported: write one JSON object per line", text)
                return
            text = text.rstrip("\r\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                collector.reject(path, number, None, f"invalid JSON: {exc.msg} at column {exc.colno}", text)
                continue
            add_record(obj, "jsonl", path, number, lambda: text, collector)
    if rows == 0:
        collector.reject(path, None, None, "file is empty")
