"""The KP graph as CSR arrays on disk, and the pieces that assemble it from streamed pages.

A cached graph is one uncompressed ``.npz`` per graph version (``kp_graph-<version>.npz``):
the CSR arrays as they are, node ids and discipline names as UTF-8 blobs with offsets, so
loading needs no pickle and takes about as long as reading the bytes. Files are written to a
temporary name and renamed, so a reader never sees half a file. Everything here is plain
numpy; the Neo4j side is ``linksyn_dagster.resources.graph_csr``.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from linksyn_dagster.core.csr_graph import CSRGraph

__all__ = ["FORMAT", "Column", "KeyIndex", "cache_file", "cached_state", "file_of_state", "load_csr", "save_csr",
           "stale_cache_files"]

# bump when the file layout changes: old files are then ignored (and cleaned up)
FORMAT = 1
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def cache_file(cache_dir: Path, version: str) -> Path | None:
    """Where graph ``version`` is cached, or None for a version that cannot key a file
    (unknown or unusual: such a graph is always read)."""
    if not version or version == "unknown" or not _SAFE_VERSION.match(version):
        return None
    return Path(cache_dir) / f"kp_graph-{version}-f{FORMAT}.npz"


def stale_cache_files(cache_dir: Path, keep: Path) -> list[Path]:
    """Cached graphs other than ``keep`` (older versions or formats)."""
    return sorted(p for p in Path(cache_dir).glob("kp_graph-*.npz") if p != keep)


def _blob(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unblob(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    bounds = offsets.tolist()
    return [raw[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def save_csr(graph: CSRGraph, path: Path, knowledge_state: str | None = None) -> int:
    """Write ``graph`` to ``path`` atomically; returns the file's size in bytes.
    ``knowledge_state``: the state of the knowledge tables the graph holds (``kp_changes``), so a
    later state's graph can be made from this one and the changes between them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids, id_offsets = _blob([str(x) for x in graph.node_ids.tolist()])
    names, name_offsets = _blob(graph.discipline_names)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, indptr=graph.indptr, indices=graph.indices, weights=graph.weights,
                     frequency=graph.frequency, discipline=graph.discipline, node_ids=ids, node_id_offsets=id_offsets,
                     discipline_names=names, discipline_name_offsets=name_offsets,
                     format=np.array([FORMAT], dtype=np.int64),
                     **({"knowledge_state": np.frombuffer(knowledge_state.encode("utf-8"), dtype=np.uint8)}
                        if knowledge_state else {}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def load_csr(path: Path) -> CSRGraph:
    """Read a graph written by ``save_csr`` (no pickle). Raises ValueError when the file is
    not one (wrong format, missing arrays, inconsistent CSR)."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["format"][0]) != FORMAT:
                raise ValueError(f"format {int(data['format'][0])}, expected {FORMAT}")
            return CSRGraph(
                node_ids=np.array(_unblob(data["node_ids"], data["node_id_offsets"]), dtype=object),
                indptr=data["indptr"], indices=data["indices"], weights=data["weights"],
                frequency=data["frequency"], discipline=data["discipline"],
                discipline_names=tuple(_unblob(data["discipline_names"], data["discipline_name_offsets"])),
            )
    except (KeyError, ValueError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable cached KP graph ({type(exc).__name__}: {exc})") from None


def cached_state(path: Path) -> str | None:
    """The knowledge state a cached graph holds (read without its arrays), None when it does
    not say or cannot be read."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            if "knowledge_state" not in data.files or int(data["format"][0]) != FORMAT:
                return None
            return data["knowledge_state"].tobytes().decode("utf-8")
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


def file_of_state(cache_dir: Path, knowledge_state: str) -> Path | None:
    """The cached graph that holds ``knowledge_state``, if one does."""
    return next((p for p in sorted(Path(cache_dir).glob(f"kp_graph-*-f{FORMAT}.npz"))
                 if cached_state(p) == knowledge_state), None)


class Column:
    """A numpy column filled page by page: preallocated to the expected size (when known),
    grown by doubling past it, so streaming never holds more than the column itself plus
    one page of Python values."""

    def __init__(self, dtype: np.dtype | type, expected: int = 0) -> None:
        self._data = np.empty(max(int(expected), 16), dtype=dtype)
        self.size = 0

    def extend(self, values: Sequence | np.ndarray) -> None:
        chunk = np.asarray(values, dtype=self._data.dtype)
        end = self.size + chunk.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size:end] = chunk
        self.size = end

    def array(self) -> np.ndarray:
        """The filled part (a view while the column is exactly full, else a trimmed copy)."""
        return self._data if self.size == self._data.size else self._data[: self.size].copy()


class KeyIndex:
    """Maps the database's node keys (e.g. Neo4j ids) to node positions, vectorized."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]
        if self._sorted.size > 1 and np.any(self._sorted[1:] == self._sorted[:-1]):
            raise ValueError("KeyIndex: node keys repeat")

    def positions(self, keys: Sequence[int] | np.ndarray) -> np.ndarray:
        """Positions (int32) of ``keys``; raises ValueError naming how many are unknown."""
        query = np.asarray(keys, dtype=np.int64)
        at = np.searchsorted(self._sorted, query)
        at_clipped = np.minimum(at, max(self._sorted.size - 1, 0))
        known = (at < self._sorted.size) & (self._sorted[at_clipped] == query) if self._sorted.size else (
            np.zeros(query.size, dtype=bool))
        if not np.all(known):
            raise ValueError(f"{int(np.count_nonzero(~known))} edge endpoint(s) are not among the nodes read")
        return self._order[at_clipped].astype(np.int32)
