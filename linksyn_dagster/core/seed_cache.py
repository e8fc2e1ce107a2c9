"""The parsed seed files, cached on disk per seed file and per content of the seed directory.

Every ``seed_qa`` partition needs the seeds of one discipline, but a discipline's seeds can
be in any file, so each partition used to parse every file: 22 full parses of the corpus
per backfill (at 1M seeds, about 22 minutes of row-by-row validation where one parse
takes one). Here the first run parses and writes the result as Parquet; every later run
(any partition, any process) reads only its discipline's rows from that file.

Two levels, so that memory does not grow with the corpus and an increment parses only what
changed:

* **per file** (``files/<key>.*``): each seed file is parsed on its own
  (:func:`~linksyn_dagster.core.seeds.load_seed_file`) and its seeds (de-duplicated within
  the file), rejects and duplicate count are written as Parquet before the next file is
  read, so a parse holds one file's rows at a time. The key is the file's path (as the
  directory walk gives it: it is stored in ``source_file``), size and modification time,
  the field length limit, the taxonomy and ``FORMAT``. A new or changed file gets a new key
  and is parsed; every other file is read back from its Parquet.
* **per directory content** (``seeds-<key>.*``, the key of :func:`seed_fingerprint`): the
  seeds of all files in load order, the first occurrence of each ``seed_id`` kept (as
  :func:`~linksyn_dagster.core.seeds.load_seed_files` keeps it), streamed file by file into
  one Parquet file; only the ids kept so far are held in memory (a column of 16-character
  strings). This is what the readers scan.

The result is the same as ``load_seed_files`` on the same sources: the same seeds in the
same order, the same rejects, duplicates and file count. Runs that start together wait on
a lock while the first one parses, instead of all parsing. Files are written to a
temporary name and renamed, so a reader never sees half a file; entries of files no longer
in the directory, and older directory parses, are removed when a new one is written.
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
import pyarrow.parquet as pq

from linksyn_dagster.core.seeds import REJECT_SCHEMA, SEED_SCHEMA, list_seed_files, load_seed_file

__all__ = ["CACHE_DIR", "FORMAT", "CachedSeeds", "cached_seed_load", "seed_fingerprint", "write_atomic"]

FORMAT = 2  # bump when the parse (SEED_SCHEMA, normalization) or the cache layout changes
CACHE_DIR = "seed_cache"  # under the data dir
FILES_DIR = "files"  # per seed file, under the cache dir


@dataclass(frozen=True)
class CachedSeeds:
    """A parse of the seed files on disk: scan it for the rows you need."""

    path: Path  # Parquet, SEED_SCHEMA, in load order
    rejects: pl.DataFrame
    duplicates: int
    files: int
    cache_hit: bool
    parsed: tuple[str, ...] = ()  # the seed files parsed by this call (the others were read from the cache)

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def seeds(self, discipline: str | None = None) -> pl.DataFrame:
        """All seeds, or those of one discipline."""
        frame = self.scan()
        if discipline is not None:
            frame = frame.filter(pl.col("discipline") == discipline)
        return frame.collect()


def _parse_digest(max_field_chars: int):
    """The start of every key: what any parse depends on besides the file itself."""
    digest = hashlib.sha256(f"format={FORMAT}\0max={max_field_chars}\0".encode())
    taxonomy = resources.files("linksyn_dagster") / "data" / "disciplines.yaml"
    digest.update(hashlib.sha256(taxonomy.read_bytes()).digest())
    return digest


def _file_state(file: Path) -> str:
    try:
        stat = file.stat()
        return f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0"
    except OSError:
        return f"{file}\0missing\0"


def seed_fingerprint(sources: Iterable[Path | str] | Path | str, max_field_chars: int) -> str:
    """A key that changes whenever the parse of ``sources`` could change."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    digest = _parse_digest(max_field_chars)
    for source in sources:
        digest.update(f"source={Path(source).resolve()}\0".encode())
    for file in list_seed_files(sources):
        digest.update(_file_state(file).encode())
    return digest.hexdigest()[:24]


def _file_key(file: Path, max_field_chars: int) -> str | None:
    """The key of one file's parse; None for a file that cannot be read (parsed each time:
    its reject row says why, and it costs nothing)."""
    state = _file_state(file)
    if state.endswith("missing\0"):
        return None
    digest = _parse_digest(max_field_chars)
    digest.update(f"as_listed={file}\0{state}".encode())
    return digest.hexdigest()[:24]


def write_atomic(directory: Path, name: str, write) -> Path:
    """``write(path)`` into a temporary file of ``directory``, then renamed to ``name``: a
    reader never sees half a file."""
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


@dataclass(frozen=True)
class _FileParse:
    seeds: pl.DataFrame  # de-duplicated within the file
    rejects: pl.DataFrame
    duplicates: int  # within the file


def _parse_file(file: Path, max_field_chars: int, files_dir: Path, parsed: list[str]) -> tuple[_FileParse, str | None]:
    """One file's parse, from its cache entry or parsed now (and cached)."""
    key = _file_key(file, max_field_chars)
    names = {part: f"{key}.{part}" for part in ("parquet", "rejects.parquet", "json")}
    if key is not None and (files_dir / names["json"]).exists():  # written last
        meta = json.loads((files_dir / names["json"]).read_text(encoding="utf-8"))
        return _FileParse(pl.read_parquet(files_dir / names["parquet"]),
                          pl.read_parquet(files_dir / names["rejects.parquet"]), int(meta["duplicates"])), key
    loaded = load_seed_file(file, max_field_chars=max_field_chars)
    parsed.append(str(file))
    if key is not None:
        write_atomic(files_dir, names["parquet"], loaded.seeds.write_parquet)
        write_atomic(files_dir, names["rejects.parquet"], loaded.rejects.write_parquet)
        meta = json.dumps({"file": str(file), "duplicates": loaded.duplicates, "rows": loaded.seeds.height})
        write_atomic(files_dir, names["json"], lambda p: Path(p).write_text(meta, encoding="utf-8"))
    return _FileParse(loaded.seeds, loaded.rejects, loaded.duplicates), key


def _read(seeds_path: Path, meta_path: Path, rejects_path: Path) -> CachedSeeds:
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return CachedSeeds(seeds_path, pl.read_parquet(rejects_path), int(meta["duplicates"]), int(meta["files"]),
                       cache_hit=True)


def _build(sources: list[Path | str], max_field_chars: int, cache_dir: Path,
           names: dict[str, str]) -> CachedSeeds:
    """Parse (or read per file) every seed file and stream the kept seeds into one Parquet."""
    files_dir = cache_dir / FILES_DIR
    files_dir.mkdir(exist_ok=True)
    parsed: list[str] = []
    used: set[str] = set()
    seen = pl.Series("seed_id", [], dtype=pl.String)  # the ids kept so far: 16 hex digits each
    rejects: list[pl.DataFrame] = []
    duplicates = rows = files = 0
    arrow_schema = pl.DataFrame(schema=SEED_SCHEMA).to_arrow().schema

    def write(tmp: str) -> None:
        nonlocal duplicates, rows, files, seen
        with pq.ParquetWriter(tmp, arrow_schema) as writer:
            for file in list_seed_files(sources):
                files += 1
                part, key = _parse_file(file, max_field_chars, files_dir, parsed)
                if key is not None:
                    used.add(key)
                # the first file holding an id keeps it (ids are unique within a file's parse)
                kept = part.seeds.filter(~pl.col("seed_id").is_in(seen.implode()))
                seen = pl.concat([seen, kept.get_column("seed_id")])
                duplicates += part.duplicates + part.seeds.height - kept.height
                rows += kept.height
                rejects.append(part.rejects)
                if kept.height:
                    writer.write_table(kept.to_arrow().cast(arrow_schema))

    write_atomic(cache_dir, names["parquet"], write)
    all_rejects = pl.concat(rejects, how="vertical") if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    write_atomic(cache_dir, names["rejects.parquet"], all_rejects.write_parquet)
    meta = json.dumps({"duplicates": duplicates, "files": files, "rows": rows, "parsed": len(parsed),
                       "sources": [str(s) for s in sources]})
    write_atomic(cache_dir, names["json"], lambda p: Path(p).write_text(meta, encoding="utf-8"))
    for old in cache_dir.glob("seeds-*"):
        if old.name not in names.values():
            old.unlink(missing_ok=True)
    for old in files_dir.iterdir():  # files gone from the directory, or changed since
        if old.name.split(".")[0] not in used:
            old.unlink(missing_ok=True)
    return CachedSeeds(cache_dir / names["parquet"], all_rejects, duplicates, files, cache_hit=False,
                       parsed=tuple(parsed))


def cached_seed_load(sources: Iterable[Path | str] | Path | str, max_field_chars: int,
                     cache_dir: Path) -> CachedSeeds:
    """The parse of ``sources`` (as ``load_seed_files``), from ``cache_dir`` when this exact
    content was parsed before, else built now, parsing only the files not cached yet."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = list(sources)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = seed_fingerprint(sources, max_field_chars)
    names = {part: f"seeds-{key}.{part}" for part in ("parquet", "rejects.parquet", "json")}
    paths = {part: cache_dir / name for part, name in names.items()}
    if paths["json"].exists():  # written last: its presence means the other two are complete
        return _read(paths["parquet"], paths["json"], paths["rejects.parquet"])
    with open(cache_dir / ".seeds.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # runs starting together: one parses, the others wait
        try:
            if paths["json"].exists():
                return _read(paths["parquet"], paths["json"], paths["rejects.parquet"])
            return _build(sources, max_field_chars, cache_dir, names)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
