"""Neo4j as a Dagster resource.

Without a ``uri`` (LINKSYN_NEO4J__URI) the resource starts (or reuses) the local Neo4j
Community server the project runs itself, under its data directory. Every query is a parameterized Cypher file from
``sql/cypher``; KP names and seed text travel as parameters, never as query text.
"""

# no `from __future__ import annotations`: Dagster reads the ResourceDependency annotation at class creation
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence

import dagster as dg
from neo4j import Driver, GraphDatabase, Session
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired
from pydantic import Field, PrivateAttr

from linksyn_dagster.core.graph_load import GraphDelta, GraphState, GraphTables, Sums, diff, state_of
from linksyn_dagster.core.graph_style import STYLE_VERSION
from linksyn_dagster.queries import cypher, split_statements
from linksyn_dagster.resources.graph_loader import GraphLoader, GraphStateStore
from linksyn_dagster.resources.settings import Secret, ServiceResource
from linksyn_dagster.settings import LinkSynSettings


class GraphUnavailable(RuntimeError):
    pass


class Neo4jResource(ServiceResource):
    """The KP graph store (Neo4j): an existing server, or the local one under ``data_dir``."""

    SECTION, SECRETS = "neo4j", ("password",)

    neo4j: dict[str, Any] = Field(default_factory=dict, description="connection and local-server settings "
                                  "(LINKSYN_NEO4J__*, without the password)")
    # not config (see Secret); unset with the local server = generated and stored under the data dir
    password: dg.ResourceDependency[Secret]

    _driver: Driver | None = PrivateAttr(default=None)
    _uri: str = PrivateAttr(default="")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    @property
    def uri(self) -> str:
        self._connect()
        return self._uri

    @property
    def database(self) -> str:
        return self._config.neo4j.database

    def _connect(self) -> Driver:
        if self._driver is not None:
            return self._driver
        self._driver, self._uri = connect(self._config)
        return self._driver

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._connect().session(database=self.database) as session:
            yield session

    def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run one Cypher file (``sql/cypher/<name>.cypher``) in a write transaction."""
        query = cypher(name)
        with self.session() as session:
            return session.execute_write(lambda tx: [r.data() for r in tx.run(query, **params)])

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        query = cypher(name)
        with self.session() as session:
            return session.execute_read(lambda tx: [r.data() for r in tx.run(query, **params)])

    def run_script(self, name: str, **params: Any) -> None:
        """Run a multi-statement Cypher file, one auto-commit statement at a time (needed for
        schema changes and ``CALL {...} IN TRANSACTIONS``)."""
        with self.session() as session:
            for statement in split_statements(cypher(name)):
                session.run(statement, **params).consume()

    def loader(self, log: Callable[[str], None] | None = None) -> GraphLoader:
        """The bulk loader for kp_graph (LINKSYN_NEO4J__BATCH_SIZE rows per transaction,
        LINKSYN_NEO4J__WRITERS sessions at once)."""
        cfg = self._config.neo4j
        return GraphLoader(self._connect(), self.database, batch_size=cfg.batch_size, writers=cfg.writers, log=log,
                           where=self._uri)

    def state_store(self) -> GraphStateStore:
        """Where kp_graph keeps what its last load left in Neo4j (``<data dir>/graph_state``)."""
        return GraphStateStore(self._config.data_dir / "graph_state")

    def counts(self) -> dict[str, int]:
        """Nodes and relationships of each kind the KP graph holds now."""
        return self.read("graph_counts")[0]

    def sync(self, tables: GraphTables, version: str, log: Callable[[str], None]) -> dict[str, Any]:
        """Make Neo4j hold ``tables`` as graph ``version``; what was written, as metadata.

        Incremental: when Neo4j still holds the version the last sync wrote (and its counts
        agree with the saved state), only the difference is written: new and changed nodes
        and edges, and deletes. Otherwise (a first load, a load that stopped half-way, a
        graph changed by hand, KPs labelled for another Browser style) the KP graph is wiped and written whole. Either way the result
        is the same graph; an unchanged graph is not written at all. The state for the next
        sync (``<data dir>/graph_state``) is written while Neo4j loads."""
        self.run_script("schema")
        states = self.state_store()
        current = self.read("graph_meta_get")
        neo4j_version = current[0]["version"] if current else None
        if neo4j_version is not None and current[0]["style"] != STYLE_VERSION:
            # KPs labelled another way (or not at all) for Neo4j Browser's style: load whole
            log(f"kp_graph: Neo4j's KP labels are not style {STYLE_VERSION}; loading the graph whole")
            neo4j_version = None
        if neo4j_version == version:
            log(f"kp_graph: Neo4j already holds graph version {version}; nothing to write")
            if states.version() != version:  # e.g. loaded before states were kept
                states.write(version, state_of(tables))
            return {"written": False}
        saved = states.read(neo4j_version) if neo4j_version and states.version() == neo4j_version else None
        base = saved if saved is not None and self._holds(saved) else None
        new_state = state_of(tables)
        delta = diff(base, tables, new_state)
        log(f"kp_graph: {'incremental' if base else 'full'} load of version {version}: {delta.counts()}")
        with ThreadPoolExecutor(1, thread_name_prefix="graph-state") as background:
            staged = background.submit(states.stage, version, new_state)
            report = self.loader(log=log).load(delta, version, full=base is None)
            states.commit(staged.result(), version)
        return {"written": True, "load/mode": "incremental" if base else "full",
                "load/seconds": report.seconds["total"], "load/writers": report.writers,
                **{f"load/rows/{k}": v for k, v in report.rows.items()}}

    def meta(self) -> dict[str, Any]:
        """What the graph says of itself: version (None while a load runs), style, the
        knowledge state it holds (kp_changes.to_state) and its version sums."""
        rows = self.read("graph_meta_get")
        meta = rows[0] if rows else {}
        sums = meta.get("sums")
        return {"version": meta.get("version"), "style": meta.get("style"),
                "knowledge_state": meta.get("knowledge_state"),
                "sums": [tuple(int(x) for x in pair.split(":")) for pair in sums] if sums else None}

    def mark_state(self, version: str, knowledge_state: str | None, sums: Sums) -> None:
        """Record, on the graph of ``version``, the knowledge state and version sums it holds."""
        self.run("graph_meta_set_state", version=version, knowledge_state=knowledge_state,
                 sums=[f"{total}:{rows}" for total, rows in sums])

    def apply_changes(self, delta: GraphDelta, version: str, log: Callable[[str], None]) -> dict[str, Any]:
        """Write ``delta`` (from the knowledge stage's changes, ``delta_of_changes``) onto the
        graph that holds the state it starts from. The saved diff state (``graph_state``) no
        longer matches the graph after this; a later whole-table sync loads whole."""
        self.run_script("schema")
        log(f"kp_graph: load of version {version} from the knowledge changes: {delta.counts()}")
        report = self.loader(log=log).load(delta, version, full=False)
        return {"written": True, "load/mode": "changes", "load/seconds": report.seconds["total"],
                "load/writers": report.writers, **{f"load/rows/{k}": v for k, v in report.rows.items()}}

    def _holds(self, state: GraphState) -> bool:
        """Neo4j's counts equal the saved state's (a cheap guard against a graph changed by hand)."""
        counts = self.counts()
        return (counts["knowledge_points"], counts["seeds"], counts["has_kp"], counts["co_occurs"]) == (
            state.kps.height, state.seeds.height, state.links.height, state.edges.height)

    def run_batched(self, name: str, rows: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
                    batch_size: int | None = None, **params: Any) -> int:
        """UNWIND ``rows`` through a Cypher file in batches, one transaction per batch."""
        size = batch_size or self._config.neo4j.batch_size
        query = cypher(name)
        written = 0
        batch: list[dict[str, Any]] = []
        try:
            with self.session() as session:
                for row in rows:
                    batch.append(row)
                    if len(batch) >= size:
                        session.execute_write(lambda tx, b=batch: tx.run(query, rows=b, **params).consume())
                        written += len(batch)
                        batch = []
                if batch:
                    session.execute_write(lambda tx, b=batch: tx.run(query, rows=b, **params).consume())
                    written += len(batch)
        except (ServiceUnavailable, SessionExpired) as exc:
            # the driver has already retried for its transaction retry time; each batch
            # committed is idempotent (MERGE/SET), so a re-run converges
            raise GraphUnavailable(
                f"lost Neo4j at {self._uri} during {name} after {written} row(s) were written "
                f"({type(exc).__name__}); re-run once it is back: the load converges") from None
        return written


def connect(settings: LinkSynSettings) -> tuple[Driver, str]:
    """A verified driver for the configured server, or the local one (started if needed)."""
    if settings.neo4j.uri:
        uri = settings.neo4j.uri
        password = settings.neo4j.password.get_secret_value() if settings.neo4j.password else ""
    else:
        from linksyn_dagster.services.neo4j_server import LocalNeo4j

        local = LocalNeo4j.from_settings(settings)
        local.ensure_running()
        uri, password = local.uri, local.password
    # server notifications (e.g. "property does not exist yet" on a fresh graph) are noise here
    driver = GraphDatabase.driver(uri, auth=(settings.neo4j.user, password), notifications_min_severity="OFF")
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise GraphUnavailable(
            f"Neo4j at {uri} refused the credentials of user {settings.neo4j.user!r} "
            "(check LINKSYN_NEO4J__USER / LINKSYN_NEO4J__PASSWORD)"
        ) from None
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise GraphUnavailable(f"Neo4j is not reachable at {uri}: {type(exc).__name__}") from None
    return driver, uri
