"""Pytest fixtures for the real local Neo4j server (loaded via ``pytest_plugins``).

* ``neo4j_server`` (session): one LocalNeo4j in a temp home on free ports, stopped at the end.
* ``neo4j_driver`` (function): a driver logged in to it, on an emptied database.

The jar cache is the user's (``~/.cache/linksyn`` or ``$LINKSYN_JAR_CACHE``) so jars and the
class archive are fetched/built once, not per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from linksyn_dagster.services import process
from linksyn_dagster.services.neo4j_server import LocalNeo4j
from linksyn_dagster.settings import Neo4jSettings
from linksyn_dagster_tests.memory_fs import memory_dir

# small enough that the session server plus a test's own server fit on 2 cores / 24 GB
TEST_HEAP = "512m"
TEST_PAGECACHE = "128m"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = process.free_port()
        if port not in ports:
            ports.append(port)
    return ports


def make_local_neo4j(home: Path) -> LocalNeo4j:
    bolt_port, http_port = free_ports(2)
    return LocalNeo4j(home, version=Neo4jSettings().version, bolt_port=bolt_port, http_port=http_port,
                      heap=TEST_HEAP, pagecache=TEST_PAGECACHE)


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    with memory_dir("neo4j", tmp_path_factory.mktemp("neo4j_home")) as home:
        server = make_local_neo4j(home)
        try:
            server.start(timeout=240)
        except process.ServiceError as exc:
            # the graph store is a hard dependency of the project: fail loudly rather than skip
            server.stop()
            pytest.fail(f"local Neo4j did not start: {exc}", pytrace=False)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture()
def neo4j_driver(neo4j_server: LocalNeo4j) -> Iterator[neo4j.Driver]:
    driver = neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password))
    try:
        # every test starts from an empty graph (schema -- constraints, indexes -- is kept)
        driver.execute_query("MATCH (n) DETACH DELETE n")
        yield driver
    finally:
        driver.close()
