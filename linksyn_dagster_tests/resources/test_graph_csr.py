"""The KP graph from the real Neo4j server into CSR arrays: paged transfer and the on-disk
cache keyed by graph version."""

from __future__ import annotations

from typing import Any

import neo4j
import numpy as np
import pytest

from linksyn_dagster.core.walker import CSRGraph
from linksyn_dagster.queries import cypher, split_statements
from linksyn_dagster.resources.graph_csr import read_kp_graph_csr

EDGE_QUERIES = {"read_walk_sizes", "read_walk_nodes_page", "read_walk_edges_page"}


class CountingReader:
    """``Neo4jResource.read`` over the test driver, remembering every query it sends."""

    def __init__(self, driver: neo4j.Driver) -> None:
        self.driver = driver
        self.calls: list[str] = []

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        self.calls.append(name)
        records, _, _ = self.driver.execute_query(cypher(name), parameters_=params, routing_=neo4j.RoutingControl.READ)
        return [r.data() for r in records]


def _random_graph(seed: int = 3, n: int = 57) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(seed)
    nodes = [{"kp_id": f"kp_{i:03d}_é", "frequency": int(rng.integers(0, 40)),
              "discipline": ["biology", "physics", "law"][int(rng.integers(0, 3))]} for i in range(n)]
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(160, 2)) if a != b}
    pairs = {(min(a, b), max(a, b)) for a, b in pairs}
    # stored in either direction, as kp_graph may
    edges = [{"a": nodes[a if k % 2 else b]["kp_id"], "b": nodes[b if k % 2 else a]["kp_id"],
              "weight": int(rng.integers(1, 9))} for k, (a, b) in enumerate(sorted(pairs))]
    return nodes, edges


@pytest.fixture(autouse=True)
def _schema(neo4j_driver: neo4j.Driver) -> None:
    """The constraints kp_graph creates (the kp_id one makes every page an index seek)."""
    for statement in split_statements(cypher("schema")):
        neo4j_driver.execute_query(statement)


def _load(driver: neo4j.Driver, nodes: list[dict], edges: list[dict], version: str | None) -> None:
    driver.execute_query("UNWIND $rows AS r CREATE (:KnowledgePoint {kp_id: r.kp_id, frequency: r.frequency, "
                         "primary_discipline: r.discipline})", rows=nodes)
    driver.execute_query("UNWIND $rows AS r MATCH (a:KnowledgePoint {kp_id: r.a}), (b:KnowledgePoint {kp_id: r.b}) "
                         "CREATE (a)-[:CO_OCCURS {weight: r.weight}]->(b)", rows=edges)
    if version is not None:
        _set_version(driver, version)


def _set_version(driver: neo4j.Driver, version: str) -> None:
    driver.execute_query("MERGE (m:GraphMeta {name: 'kp_graph'}) SET m.version = $v", v=version)


def _expected(nodes: list[dict], edges: list[dict]) -> CSRGraph:
    ordered = sorted(nodes, key=lambda r: r["kp_id"])
    return CSRGraph.from_edges([r["kp_id"] for r in ordered], [r["frequency"] for r in ordered],
                               [r["discipline"] for r in ordered],
                               ([e["a"] for e in edges], [e["b"] for e in edges], [e["weight"] for e in edges]))


def _assert_same(got: CSRGraph, want: CSRGraph) -> None:
    assert got.node_ids.tolist() == want.node_ids.tolist()
    assert got.discipline_names == want.discipline_names
    for name in ("indptr", "indices", "weights", "frequency", "discipline"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def test_paged_transfer_equals_the_graph(neo4j_driver, tmp_path) -> None:
    nodes, edges = _random_graph()
    _load(neo4j_driver, nodes, edges, "v1")
    reader = CountingReader(neo4j_driver)
    csr, transfer = read_kp_graph_csr(reader, tmp_path, page_nodes=10)  # 57 nodes: 6 pages each
    _assert_same(csr, _expected(nodes, edges))
    assert not transfer.cache_hit and transfer.version == "v1"
    assert reader.calls.count("read_walk_nodes_page") == 6 and reader.calls.count("read_walk_edges_page") == 6
    assert transfer.queries == len(reader.calls)
    assert (transfer.nodes, transfer.edges) == (len(nodes), len(edges))
    assert transfer.csr_bytes == csr.nbytes > 0 and transfer.peak_rss_bytes > 0


def test_unchanged_version_is_not_read_again_and_a_new_one_is(neo4j_driver, tmp_path) -> None:
    nodes, edges = _random_graph()
    _load(neo4j_driver, nodes, edges, "v1")
    first, _ = read_kp_graph_csr(CountingReader(neo4j_driver), tmp_path)

    # the graph changes in Neo4j but its version does not: the cache answers, edges unread
    neo4j_driver.execute_query("MATCH ()-[e:CO_OCCURS]->() WITH e LIMIT 20 DELETE e")
    reader = CountingReader(neo4j_driver)
    again, transfer = read_kp_graph_csr(reader, tmp_path)
    assert transfer.cache_hit and reader.calls == ["graph_meta_get"]
    _assert_same(again, first)
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert cached == ["kp_graph-v1-f1.npz"]

    # a new version is read from Neo4j (and replaces the old file)
    _set_version(neo4j_driver, "v2")
    reader = CountingReader(neo4j_driver)
    fresh, transfer = read_kp_graph_csr(reader, tmp_path)
    assert not transfer.cache_hit and EDGE_QUERIES <= set(reader.calls)
    assert fresh.n_edges == len(edges) - 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kp_graph-v2-f1.npz"]


def test_graph_without_version_or_changing_during_the_read_is_not_cached(neo4j_driver, tmp_path) -> None:
    nodes, edges = _random_graph(n=12)
    _load(neo4j_driver, nodes, edges, version=None)
    for _ in range(2):
        reader = CountingReader(neo4j_driver)
        _, transfer = read_kp_graph_csr(reader, tmp_path)
        assert transfer.version == "unknown" and not transfer.cache_hit and transfer.cache_path is None
        assert EDGE_QUERIES <= set(reader.calls)
    assert list(tmp_path.iterdir()) == []

    class VersionMovesOn(CountingReader):
        def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
            if name == "read_walk_edges_page":
                _set_version(self.driver, "v-later")
            return super().read(name, **params)

    _set_version(neo4j_driver, "v-early")
    _, transfer = read_kp_graph_csr(VersionMovesOn(neo4j_driver), tmp_path)
    assert transfer.cache_path is None and list(tmp_path.iterdir()) == []


def test_damaged_cache_file_is_read_again(neo4j_driver, tmp_path) -> None:
    nodes, edges = _random_graph(n=15)
    _load(neo4j_driver, nodes, edges, "v1")
    first, transfer = read_kp_graph_csr(CountingReader(neo4j_driver), tmp_path)
    path = tmp_path / "kp_graph-v1-f1.npz"
    assert transfer.cache_path == str(path)
    path.write_bytes(path.read_bytes()[:100])
    reader = CountingReader(neo4j_driver)
    again, transfer = read_kp_graph_csr(reader, tmp_path)
    assert not transfer.cache_hit and EDGE_QUERIES <= set(reader.calls)
    _assert_same(again, first)
    assert read_kp_graph_csr(CountingReader(neo4j_driver), tmp_path)[1].cache_hit  # rewritten


def test_empty_graph_and_nodes_without_discipline(neo4j_driver, tmp_path) -> None:
    _set_version(neo4j_driver, "empty")
    csr, transfer = read_kp_graph_csr(CountingReader(neo4j_driver), tmp_path)
    assert csr.n_nodes == 0 and csr.n_edges == 0 and transfer.nodes == 0

    nodes, edges = _random_graph(n=8)
    nodes[3]["discipline"] = None
    _load(neo4j_driver, nodes, edges, "broken")
    with pytest.raises(ValueError, match="kp_003_é.*no discipline"):
        read_kp_graph_csr(CountingReader(neo4j_driver), tmp_path / "other")
