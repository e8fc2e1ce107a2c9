"""Writing a planned graph delta (``core/graph_load.py``) into Neo4j, fast.

Every query is a Cypher file under ``sql/cypher/load``. Rows travel as parallel column
lists (``$kp_id[i]``, ``$name[i]``...): packing a few long lists costs the driver far less
than a dict per row. New nodes and relationships are CREATEd (the delta knows they are
absent), never MERGEd; changed ones are matched by key and SET.

With ``writers`` > 1, relationships are written by that many sessions at once, in rounds
whose groups share no end node (``lock_free_rounds``), so concurrent transactions never
wait on each other's node locks; nodes are written by all writers in interleaved batches.
Neo4j 5's record store still locks neighbouring relationship records of the chains it
links into, which other groups' nodes share, so some transactions deadlock and are retried
by the driver. On 2 cores, where one writer already keeps the server busy, that makes 2
writers slower (300k KPs / 3M edges: 100 s with 1 writer, 119 s with 2 and 14 deadlocks);
the default is 1 writer, and more are for servers with cores to spare (measure with
``benchmarks/neo4j_load.py --writers N``).

A load is bracketed by ``meta_begin``/``meta_end``: while it runs, the graph has no
version, so a load that stops half-way is never taken for a complete one.

``GraphStateStore`` keeps what the last load left in Neo4j (``GraphState``) as Arrow files
under the data directory, for the next load's diff: about 0.5 s to write and 0.8 s to read
at 10M edges on an idle machine, where DuckDB tables took 3 s and 2.4 s (while Neo4j
flushes, the write can take 4 s: kp_graph writes it during the load).
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
from neo4j import Driver
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from linksyn_dagster.core.graph_load import GraphDelta, GraphState, lock_free_rounds, node_buckets
from linksyn_dagster.core.graph_style import BAND_LABELS, STYLE_VERSION, band_labels, discipline_labels
from linksyn_dagster.core.taxonomy import DISCIPLINES, display_name
from linksyn_dagster.queries import cypher, split_statements


class GraphLoadError(RuntimeError):
    pass


class GraphStateStore:
    """``<directory>/<version>/{kps,seeds,links,edges}.arrow``: the state of the one graph
    version last loaded. A new state is written beside the old one and renamed into place
    (atomic), then the old one is removed, so a crash leaves one complete state or the
    other; a state whose version Neo4j no longer holds is simply not used."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def version(self) -> str | None:
        if not self.directory.is_dir():
            return None
        found = sorted(p for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        return found[0].name if len(found) == 1 else None

    def read(self, version: str) -> GraphState:
        folder = self.directory / version
        return GraphState(**{f.name: pl.read_ipc(folder / f"{f.name}.arrow") for f in fields(GraphState)})

    def write(self, version: str, state: GraphState) -> None:
        self.commit(self.stage(version, state), version)

    def stage(self, version: str, state: GraphState) -> Path:
        """Write ``state`` beside the current one (not yet in use); ``commit`` puts it in
        place. kp_graph stages while Neo4j loads, so the write costs no time of its own."""
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = self.directory / f".staging-{version}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for f in fields(GraphState):
            getattr(state, f.name).write_ipc(staging / f"{f.name}.arrow")
        return staging

    def commit(self, staging: Path, version: str) -> None:
        target = self.directory / version
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        for old in self.directory.iterdir():
            if old != target:
                shutil.rmtree(old, ignore_errors=True)


@dataclass
class LoadReport:
    """What a load wrote and how long each step took (seconds), for run metadata."""

    version: str
    full: bool
    writers: int
    batch_size: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per step, and "total"


class GraphLoader:
    def __init__(self, driver: Driver, database: str, batch_size: int = 5000, writers: int = 1,
                 log: Callable[[str], None] | None = None, where: str = "Neo4j") -> None:
        if batch_size < 1 or writers < 1:
            raise ValueError(f"GraphLoader: batch_size ({batch_size}) and writers ({writers}) must be >= 1")
        self.driver = driver
        self.database = database
        self.batch_size = batch_size
        self.writers = writers
        self._log = log or (lambda message: None)
        self.where = where  # for messages: the server's address

    # -- one batch, one group, one round ----------------------------------------------------

    def _write(self, name: str, frame: pl.DataFrame, **constants) -> None:
        """``frame`` through ``sql/cypher/<name>`` in batches, one transaction each
        (``constants``: parameters every batch gets as they are)."""
        query = cypher(name)
        with self.driver.session(database=self.database) as session:
            for start in range(0, frame.height, self.batch_size):
                batch = frame.slice(start, self.batch_size)
                params = {**constants, **{column: batch.get_column(column).to_list() for column in batch.columns}}
                session.execute_write(lambda tx, p=params: tx.run(query, **p).consume())

    def _parallel(self, name: str, groups: list[pl.DataFrame], **constants) -> None:
        groups = [g for g in groups if g.height]
        if not groups:
            return
        if len(groups) == 1 or self.writers == 1:
            for group in groups:
                self._write(name, group, **constants)
            return
        for future in [self._pool.submit(self._write, name, g, **constants) for g in groups]:
            future.result()

    def _nodes(self, name: str, frame: pl.DataFrame, **constants) -> None:
        """Node batches dealt round-robin to the writers (distinct keys never contend)."""
        if self.writers == 1 or frame.height <= self.batch_size:
            self._parallel(name, [frame], **constants)
            return
        batch = np.arange(frame.height) // self.batch_size
        self._parallel(name, [frame.filter(pl.Series(batch % self.writers == w)) for w in range(self.writers)],
                       **constants)

    def _relationships(self, name: str, frame: pl.DataFrame, start: str, end: str, same_nodes: bool) -> None:
        if self.writers == 1 or frame.height <= self.batch_size:
            self._parallel(name, [frame])
            return
        buckets = 2 * self.writers if same_nodes else self.writers
        rounds = lock_free_rounds(node_buckets(frame.get_column(start), buckets),
                                  node_buckets(frame.get_column(end), buckets), self.writers, same_nodes)
        for groups in rounds:
            self._parallel(name, [frame[g] for g in groups])

    def _step(self, report: LoadReport, label: str, rows: int, action: Callable[[], None]) -> None:
        if not rows:
            return
        began = time.perf_counter()
        action()
        report.rows[label] = rows
        report.seconds[label] = round(time.perf_counter() - began, 3)
        self._log(f"kp_graph load: {label}: {rows} row(s) in {report.seconds[label]:.1f} s")

    def _script(self, name: str, **params) -> None:
        with self.driver.session(database=self.database) as session:
            for statement in split_statements(cypher(name)):
                session.run(statement, **params).consume()

    # -- a whole load -----------------------------------------------------------------------

    def load(self, delta: GraphDelta, version: str, full: bool) -> LoadReport:
        """Apply ``delta``; ``full`` first removes whatever KP graph Neo4j holds (the delta
        must then be against no state: everything a create)."""
        report = LoadReport(version=version, full=full, writers=self.writers, batch_size=self.batch_size)
        began = time.perf_counter()
        try:
            with ThreadPoolExecutor(self.writers, thread_name_prefix="neo4j-writer") as self._pool:
                self._script("schema")
                self._script("load/meta_begin", version=version)
                if full:
                    self._step(report, "wipe", 1, lambda: self._script("load/wipe"))
                self._apply(delta, report)
                self._script("load/meta_end", version=version, style=STYLE_VERSION)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphLoadError(
                f"lost Neo4j at {self.where} while loading graph version {version} (steps done: "
                f"{', '.join(report.rows) or 'none'}; {type(exc).__name__}); re-run once it is back: "
                "the next load starts over") from None
        report.seconds["total"] = round(time.perf_counter() - began, 3)
        return report

    def _apply(self, d: GraphDelta, report: LoadReport) -> None:
        step = self._step
        # deletes first: relationships, then the nodes they hung from
        step(report, "co_occurs_deleted", d.edges_gone.height, lambda: self._write("load/delete_cooccurs", d.edges_gone))
        step(report, "has_kp_deleted", d.links_gone.height, lambda: self._write("load/delete_has_kp", d.links_gone))
        step(report, "seeds_deleted", d.seeds_gone.height, lambda: self._write("load/delete_seeds", d.seeds_gone))
        step(report, "kps_deleted", d.kps_gone.height, lambda: self._write("load/delete_knowledge_points", d.kps_gone))
        step(report, "in_discipline_deleted", d.kp_disciplines_gone.height,
             lambda: self._write("load/delete_in_discipline", d.kp_disciplines_gone))
        disciplines = pl.DataFrame({"name": list(DISCIPLINES), "display_name": [display_name(x) for x in DISCIPLINES]})
        self._write("load/upsert_disciplines", disciplines)
        # nodes, KPs with the style labels Neo4j Browser draws them by (core/graph_style.py)
        step(report, "kps_changed", d.kps_changed.height,
             lambda: self._nodes("load/update_knowledge_points", _with_style_labels(d.kps_changed)))
        step(report, "kp_frequencies_changed", d.kp_frequencies.height,
             lambda: self._nodes("load/update_kp_frequency",
                                 d.kp_frequencies.with_columns(band=band_labels(pl.col("frequency"))),
                                 band_labels=list(BAND_LABELS)))
        step(report, "kps_created", d.kps_new.height,
             lambda: self._nodes("load/create_knowledge_points", _with_style_labels(d.kps_new)))
        step(report, "seeds_changed", d.seeds_changed.height, lambda: self._nodes("load/update_seeds", d.seeds_changed))
        step(report, "seeds_created", d.seeds_new.height, lambda: self._nodes("load/create_seeds", d.seeds_new))
        # relationships
        step(report, "in_discipline_created", d.kp_disciplines.height,
             lambda: self._relationships("load/create_in_discipline", d.kp_disciplines, "kp_id", "discipline", False))
        step(report, "has_kp_created", d.links_new.height,
             lambda: self._relationships("load/create_has_kp", d.links_new, "seed_id", "kp_id", False))
        step(report, "co_occurs_changed", d.edges_changed.height,
             lambda: self._relationships("load/update_cooccurs", d.edges_changed, "kp_a", "kp_b", True))
        step(report, "co_occurs_created", d.edges_new.height,
             lambda: self._relationships("load/create_cooccurs", d.edges_new, "kp_a", "kp_b", True))


def _with_style_labels(kps: pl.DataFrame) -> pl.DataFrame:
    """KP rows with ``labels``: their primary discipline's and frequency band's labels."""
    return kps.with_columns(labels=pl.concat_list(discipline_labels(pl.col("primary_discipline")),
                                                  band_labels(pl.col("frequency"))).list.drop_nulls())
