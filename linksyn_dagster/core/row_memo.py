"""Per-item results kept on disk, so a re-run computes them only for the items it has not seen.

Some steps score every item on its own: whether a seed or a released item overlaps an
evaluation set, whether an item copies one of its own source seeds, an item's token count.
At 1M seeds each takes tens of seconds over every item, and a nightly increment adds 1%.
:func:`memoized` keeps, per cache entry, which items were scored (id and a hash of the
columns the score reads) and the result rows they gave; a run scores only the items not in
the entry, with the same result as scoring all of them. The directory names what else the
scores depend on (a fingerprint of settings, code and reference data, made by the caller):
another fingerprint is another directory, and the others are then removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

from linksyn_dagster.core.seed_cache import write_atomic

__all__ = ["entry_dir", "memoized"]

CHECKED_COLUMNS = ("item", "content_hash")


def entry_dir(cache_dir: Path, fingerprint: str) -> Path:
    """The directory of ``fingerprint``'s entries under ``cache_dir`` (created); the
    directories of other fingerprints are removed: their entries are of no more use."""
    directory = cache_dir / fingerprint
    if not directory.exists():
        for old in cache_dir.glob("*"):
            if old.is_dir() and old.name != fingerprint:
                shutil.rmtree(old, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def memoized(frame: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame], *, id_col: str,
             content: list[str], result_id: str, schema: dict[str, pl.DataType], directory: Path | None,
             entry: str) -> tuple[pl.DataFrame, int]:
    """``(compute(frame), computed_now)``, with ``compute`` called only on the rows of
    ``frame`` that ``entry`` (under ``directory``) has no result for. ``compute`` must score
    each row on its own: its result rows (``schema``; ``result_id`` names the row of
    ``frame``, by ``id_col``) for a row never depend on the other rows. A row counts as
    scored when its id and the hash of its ``content`` columns are in the entry. The result:
    every row's result rows in ``frame``'s order, each row's own in the order ``compute``
    gave them. The entry is replaced by this frame's (results first, then the rows scored,
    so a run stopped between the two writes scores some rows again, never skips them).
    Without a ``directory`` every row is scored and nothing is kept, in the same order."""
    keyed = frame.select(pl.col(id_col).cast(pl.Utf8).alias("item"),
                         pl.struct(content).hash(seed=0).alias("content_hash"))
    checked_path = directory / f"{entry}.parquet" if directory is not None else None
    rows_path = directory / f"{entry}.rows.parquet" if directory is not None else None
    if checked_path is not None and rows_path is not None and checked_path.exists() and rows_path.exists():
        checked, known = pl.read_parquet(checked_path), pl.read_parquet(rows_path)
    else:
        checked, known = keyed.clear(), pl.DataFrame(schema=schema)
    seen = checked.select(pl.struct(list(CHECKED_COLUMNS))).to_series()
    new = ~keyed.select(pl.struct(list(CHECKED_COLUMNS)).is_in(seen.implode())).to_series()
    fresh = compute(frame.filter(new)) if new.any() else pl.DataFrame(schema=schema)
    before = keyed.filter(~new).select(pl.col("item").alias(result_id))
    rows = (pl.concat([known.join(before, on=result_id, how="semi").cast(schema),
                       fresh.select(list(schema)).cast(schema)], how="vertical")
            .join(keyed.select(pl.col("item").alias(result_id)).with_row_index("__position"), on=result_id,
                  how="left")
            .sort("__position", maintain_order=True).drop("__position"))
    if directory is not None:
        write_atomic(directory, rows_path.name, rows.write_parquet)
        write_atomic(directory, checked_path.name, keyed.write_parquet)
    return rows, int(new.sum())
