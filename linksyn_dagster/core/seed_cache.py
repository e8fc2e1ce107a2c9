"""The parsed seed files, cached on disk once per content of the seed directory.

Every ``seed_qa`` partition needs the seeds of one discipline, but a discipline's seeds can
be in any file, so each partition used to parse every file: 22 full parses of the corpus
per backfill (at 1M seeds, about 22 minutes of row-by-row validation where one parse
takes one). Here the first run parses and writes the result as Parquet; every later run
(any partition, any process) reads only its discipline's rows from that file.

The cache key is a fingerprint of what the parse depends on: each file's path, size and
modification time (as the directory walk finds them), the field length limit, the
taxonomy file (subjects map to disciplines at parse time) and ``FORMAT``. Any change to a
seed file, a new file or a taxonomy edit gives a new key, so a stale parse is never read.
Runs that start together wait on a lock while the first one parses, instead of all
parsing. Files are written to a temporary name and renamed, so a reader never sees half a
file; older cache files are removed when a new one is written.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from linksyn_dagster.core.seeds import SeedLoad, list_seed_files, load_seed_files

__all__ = ["CACHE_DIR", "FORMAT", "CachedSeeds", "cached_seed_load", "seed_fingerprint"]

FORMAT = 1  # bump when the parse (SEED_SCHEMA, normalization) changes
CACHE_DIR = "seed_cache"  # under the data dir


@dataclass(frozen=True)
class CachedSeeds:
    """A parse of the seed files on disk: scan it for the rows you need."""

    path: Path  # Parquet, SEED_SCHEMA, in load order
    rejects: pl.DataFrame
    duplicates: int
    files: int
    cache_hit: bool

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def seeds(self, discipline: str | None = None) -> pl.DataFrame:
        """All seeds, or those of one discipline."""
        frame = self.scan()
        if discipline is not None:
            frame = frame.filter(pl.col("discipline") == discipline)
        return frame.collect()


def seed_fingerprint(sources: Iterable[Path | str] | Path | str, max_field_chars: int) -> str:
    """A key that changes whenever the parse of ``sources`` could change."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    digest = hashlib.sha256(f"format={FORMAT}\0max={max_field_chars}\0".encode())
    taxonomy = resources.files("linksyn_dagster") / "data" / "disciplines.yaml"
    digest.update(hashlib.sha256(taxonomy.read_bytes()).digest())
    for source in sources:
        digest.update(f"source={Path(source).resolve()}\0".encode())
    for file in list_seed_files(sources):
        try:
            stat = file.stat()
            digest.update(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{file}\0missing\0".encode())
    return digest.hexdigest()[:24]


def _write_atomic(directory: Path, name: str, write) -> Path:
    path = directory / name
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(seeds_path: Path, meta_path: Path, rejects_path: Path, hit: bool) -> CachedSeeds:
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return CachedSeeds(seeds_path, pl.read_parquet(rejects_path), int(meta["duplicates"]), int(meta["files"]), hit)


def cached_seed_load(sources: Iterable[Path | str] | Path | str, max_field_chars: int,
                     cache_dir: Path) -> CachedSeeds:
    """The parse of ``sources`` (as ``load_seed_files``), from ``cache_dir`` when this exact
    content was parsed before, else parsed now and cached."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = list(sources)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = seed_fingerprint(sources, max_field_chars)
    names = {part: f"seeds-{key}.{part}" for part in ("parquet", "rejects.parquet", "json")}
    paths = {part: cache_dir / name for part, name in names.items()}
    if paths["json"].exists():  # written last: its presence means the other two are complete
        return _read(paths["parquet"], paths["json"], paths["rejects.parquet"], hit=True)
    with open(cache_dir / ".seeds.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # runs starting together: one parses, the others wait
        try:
            if paths["json"].exists():
                return _read(paths["parquet"], paths["json"], paths["rejects.parquet"], hit=True)
            loaded: SeedLoad = load_seed_files(sources, max_field_chars=max_field_chars)
            _write_atomic(cache_dir, names["parquet"], loaded.seeds.write_parquet)
            _write_atomic(cache_dir, names["rejects.parquet"], loaded.rejects.write_parquet)
            meta = json.dumps({"duplicates": loaded.duplicates, "files": loaded.files, "rows": loaded.seeds.height,
                               "sources": [str(s) for s in sources]})
            _write_atomic(cache_dir, names["json"], lambda p: Path(p).write_text(meta, encoding="utf-8"))
            for old in cache_dir.glob("seeds-*"):
                if old.name not in names.values():
                    old.unlink(missing_ok=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return CachedSeeds(paths["parquet"], loaded.rejects, loaded.duplicates, loaded.files, cache_hit=False)
