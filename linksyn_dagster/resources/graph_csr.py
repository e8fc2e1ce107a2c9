"""The KP graph from Neo4j as CSR arrays for the walker, cached on disk by graph version.

``read_kp_graph_csr`` asks Neo4j for the graph version that ``kp_graph`` wrote; if
``<cache_dir>/kp_graph-<version>-f<format>.npz`` exists, the graph comes from that file and
Neo4j is not asked for nodes or edges. Otherwise nodes and edges are streamed in pages
(keyset pagination on ``kp_id``, each page one record of columns) into preallocated numpy
columns, so memory stays at the arrays themselves plus one page of Python values; the CSR
is built in numba (``CSRGraph.from_index_edges``) and written to the cache, replacing the
files of older versions. A graph whose version changed while it was read, or that has no
version, is never cached.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from linksyn_dagster.core.csr_delta import GraphChanges, apply_changes
from linksyn_dagster.core.csr_graph import CSRGraph
from linksyn_dagster.core.csr_store import (Column, KeyIndex, cache_file, file_of_state, load_csr, save_csr,
                                            stale_cache_files)

__all__ = ["PAGE_NODES", "CSRTransfer", "GraphReader", "read_kp_graph_csr"]

log = logging.getLogger(__name__)

# nodes per page (an edge page holds the edges leaving that many nodes)
PAGE_NODES = 20_000


class GraphReader(Protocol):
    """What the transfer needs from the graph store: ``Neo4jResource.read`` (run the read
    query ``sql/cypher/<name>.cypher`` with parameters, records as dicts)."""

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class CSRTransfer:
    """How the graph was obtained, for run metadata."""

    version: str
    cache_hit: bool
    patched: bool  # made from the cached graph of the knowledge state before and kp_changes, not read
    cache_path: str | None  # None: not cacheable (no version, or it changed during the read)
    read_seconds: float
    queries: int  # queries sent to Neo4j
    nodes: int
    edges: int  # undirected
    csr_bytes: int  # the CSR's numeric arrays
    peak_rss_bytes: int  # of this process so far (ru_maxrss)

    def metadata(self) -> dict[str, Any]:
        return {f"csr/{k}": v for k, v in asdict(self).items() if v is not None}


def _meta(graph: GraphReader) -> tuple[str, str | None]:
    """The graph's version and the knowledge state it holds (None if it does not say)."""
    rows = graph.read("graph_meta_get")
    row = rows[0] if rows else {}
    return str(row.get("version") or "unknown"), row.get("knowledge_state")


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


class _Counted:
    """A reader that counts the queries sent through it."""

    def __init__(self, graph: GraphReader) -> None:
        self.graph, self.queries = graph, 0

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        self.queries += 1
        return self.graph.read(name, **params)


def _pages(graph: GraphReader, query: str, page_nodes: int,
           last: Callable[[dict[str, Any]], str]) -> Iterator[dict[str, Any]]:
    """The pages of a keyset-paginated read, in order: each asks for ``page_nodes`` nodes
    ``after`` the ``last`` key of the page before; a short or empty page is the end."""
    after = ""
    while True:
        page = graph.read(query, after=after, limit=page_nodes)[0]
        if not page["nodes"]:
            return
        yield page
        if page["nodes"] < page_nodes:
            return
        after = last(page)


def _stream(graph: GraphReader, page_nodes: int) -> CSRGraph:
    """Nodes then edges, page by page."""
    sizes = graph.read("read_walk_sizes")[0]
    n_expected, e_expected = int(sizes["nodes"]), int(sizes["edges"])

    ids: list[str] = []
    frequency = Column(np.float64, n_expected)
    discipline_names: list[str] = []
    keys = Column(np.int64, n_expected)
    for page in _pages(graph, "read_walk_nodes_page", page_nodes, lambda page: page["kp_ids"][-1]):
        ids.extend(page["kp_ids"])
        frequency.extend(page["frequency"])
        discipline_names.extend(page["discipline"])
        keys.extend(page["node_keys"])
    missing = [kp for kp, d in zip(ids, discipline_names, strict=True) if not d]
    if missing:
        raise ValueError(f"CSRGraph: node {missing[0]!r} has no discipline ({len(missing)} KP(s) without one)")
    freq = frequency.array()
    if np.any(freq < 0):
        raise ValueError(f"CSRGraph: node {ids[int(np.flatnonzero(freq < 0)[0])]!r} has no frequency")
    names = tuple(sorted(set(discipline_names)))
    code = {d: k for k, d in enumerate(names)}
    disc = np.fromiter((code[d] for d in discipline_names), dtype=np.int32, count=len(ids))
    del discipline_names
    index = KeyIndex(keys.array())

    src = Column(np.int32, e_expected)
    dst = Column(np.int32, e_expected)
    weight = Column(np.float32, e_expected)
    for page in _pages(graph, "read_walk_edges_page", page_nodes, lambda page: page["last"]):
        src.extend(index.positions(page["src"]))
        dst.extend(index.positions(page["dst"]))
        weight.extend(page["weight"])
    return CSRGraph.from_index_edges(np.array(ids, dtype=object), freq, disc, names, src.array(), dst.array(),
                                     weight.array())


def read_kp_graph_csr(graph: GraphReader, cache_dir: Path, page_nodes: int = PAGE_NODES,
                      changes: Callable[[], GraphChanges | None] | None = None) -> tuple[CSRGraph, CSRTransfer]:
    """The current KP graph as a ``CSRGraph`` (node order: ``kp_id``), from the cache when it
    holds this graph version; else, when ``changes`` (asked only then) lead from a knowledge
    state whose graph is cached to the one Neo4j holds, that graph with the changes applied;
    else streamed from Neo4j. Either way then cached, with the knowledge state it holds."""
    began = time.perf_counter()
    reader = _Counted(graph)  # every query below goes through it
    version, state = _meta(reader)
    path = cache_file(cache_dir, version)

    def transfer(csr: CSRGraph, cache_path: Path | None, hit: bool = False, patched: bool = False) -> CSRTransfer:
        return CSRTransfer(version=version, cache_hit=hit, patched=patched,
                           cache_path=str(cache_path) if cache_path else None,
                           read_seconds=time.perf_counter() - began, queries=reader.queries, nodes=csr.n_nodes,
                           edges=csr.n_edges, csr_bytes=csr.nbytes, peak_rss_bytes=_peak_rss())

    if path is not None and path.exists():
        try:
            csr = load_csr(path)
        except (ValueError, OSError) as exc:  # a damaged file is read again, not trusted
            log.warning("graph cache %s unreadable (%s); reading the graph from Neo4j", path, exc)
        else:
            return csr, transfer(csr, path, hit=True)
    csr = _patched(cache_dir, state, changes) if path is not None and state else None
    patched = csr is not None
    if csr is None:
        csr = _stream(reader, page_nodes)
    if _meta(reader) != (version, state):
        log.warning("KP graph changed from version %s while it was read; not caching it", version)
        path = None
    if path is not None:
        save_csr(csr, path, knowledge_state=state)
        for old in stale_cache_files(path.parent, keep=path):
            old.unlink(missing_ok=True)
    return csr, transfer(csr, path, patched=patched)


def _patched(cache_dir: Path, state: str, changes: Callable[[], GraphChanges | None] | None) -> CSRGraph | None:
    """The graph of knowledge state ``state`` made from a cached earlier one and the changes
    that lead from it to ``state``; None when there are none such."""
    delta = changes() if changes is not None else None
    if delta is None or delta.to_state != state or delta.from_state == state:
        return None
    source = file_of_state(cache_dir, delta.from_state)
    if source is None:
        return None
    try:
        return apply_changes(load_csr(source), delta)
    except (ValueError, OSError) as exc:  # then the graph is read whole
        log.warning("graph cache %s could not take the knowledge changes (%s); reading the graph from Neo4j",
                    source, exc)
        return None
