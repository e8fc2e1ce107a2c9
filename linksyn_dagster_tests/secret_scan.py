"""Where a secret ended up: every file under a directory, read as bytes, and every value of
every SQLite database there, zlib-decompressed when it is compressed (Dagster stores run
snapshots, which hold resource config, compressed: a byte search of the file misses them)."""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from pathlib import Path


def _sqlite_values(path: Path):
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # names from the database itself
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        yield value
                    elif isinstance(value, str):
                        yield value.encode()


def files_holding(directory: Path, secret: str) -> list[str]:
    """The files under ``directory`` that hold ``secret``, plain or inside a SQLite value."""
    needle = secret.encode()
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if needle in data:
            found.append(str(path))
        elif data.startswith(b"SQLite format 3\x00") and any(needle in v for v in _sqlite_values(path)):
            found.append(f"{path} (inside a SQLite value)")
    return found
