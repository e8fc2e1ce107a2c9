"""The graph loader against a real Neo4j: full loads, incremental loads and interrupted
loads leave exactly the graph the tables describe."""

from __future__ import annotations

import neo4j
import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.cooccurrence import cooccurrence_edges
from linksyn_dagster.core.graph_load import GraphTables, diff, state_of
from linksyn_dagster.core.graph_style import band_label, discipline_label
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.resources.graph_loader import GraphLoader

pytestmark = pytest.mark.neo4j


def _tables(links: pl.DataFrame, question_suffix: str = "") -> GraphTables:
    """Tables as the pipeline derives them from (seed_id, kp_id) links."""
    disciplines = pl.Series(DISCIPLINES)
    links = links.with_columns(discipline=disciplines.gather(
        links.get_column("seed_id").str.slice(1).cast(pl.Int64) % len(DISCIPLINES)))
    seeds = (links.select("seed_id", "discipline").unique("seed_id")
             .with_columns(subject=pl.col("discipline"), language=pl.lit("en"),
                           question=pl.format("Question {}{}", pl.col("seed_id"), pl.lit(question_suffix))))
    kps = (links.group_by("kp_id").agg(frequency=pl.len(), disciplines=pl.col("discipline").unique().sort(),
                                       primary_discipline=pl.col("discipline").min())
           .with_columns(name=pl.format("KP {}", pl.col("kp_id")), aliases=pl.concat_list(pl.col("kp_id"))))
    pairs = links.select("seed_id", "kp_id")
    return GraphTables(kps=kps, seeds=seeds, links=pairs, edges=cooccurrence_edges(pairs))


def _links(seeds: range, rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for s in seeds:  # hub KPs (low numbers) in most seeds, so parallel writers meet on them
        kps = {int(rng.zipf(1.4)) % 200 for _ in range(int(rng.integers(2, 6)))}
        rows += [(f"s{s}", f"kp_{k:03d}") for k in kps]
    return pl.DataFrame(rows, schema={"seed_id": pl.Utf8, "kp_id": pl.Utf8}, orient="row")


def _graph(driver: neo4j.Driver) -> dict[str, set]:
    """Everything the KP graph holds in Neo4j, as sets of plain tuples."""
    def rows(query: str) -> set:
        return {tuple(tuple(v) if isinstance(v, list) else v for v in r.values())
                for r in driver.execute_query(query).records}
    return {
        "kps": rows("MATCH (k:KnowledgePoint) RETURN k.kp_id, k.name, k.frequency, k.disciplines, "
                    "k.primary_discipline, k.aliases"),
        "seeds": rows("MATCH (s:Seed) RETURN s.seed_id, s.discipline, s.subject, s.language, s.question"),
        "links": rows("MATCH (s:Seed)-[:HAS_KP]->(k:KnowledgePoint) RETURN s.seed_id, k.kp_id"),
        "edges": rows("MATCH (a:KnowledgePoint)-[e:CO_OCCURS]->(b:KnowledgePoint) RETURN a.kp_id, b.kp_id, e.weight"),
        "in_discipline": rows("MATCH (k:KnowledgePoint)-[:IN_DISCIPLINE]->(d:Discipline) RETURN k.kp_id, d.name"),
        # the labels Neo4j Browser's style draws KPs by, beside KnowledgePoint
        "style_labels": {(r["kp_id"], frozenset(r["labels"]) - {"KnowledgePoint"}) for r in driver.execute_query(
            "MATCH (k:KnowledgePoint) RETURN k.kp_id AS kp_id, labels(k) AS labels").records},
        "counts": rows("MATCH (n) RETURN labels(n)[0], count(n)") | rows("MATCH ()-[r]->() RETURN type(r), count(r)"),
    }


def _expected(tables: GraphTables) -> dict[str, set]:
    def rows(frame: pl.DataFrame) -> set:
        return {tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in frame.rows()}
    in_discipline = tables.kps.select("kp_id", "disciplines").explode("disciplines")
    style_labels = {(kp_id, frozenset({discipline_label(discipline), band_label(frequency)}))
                    for kp_id, discipline, frequency in tables.kps.select("kp_id", "primary_discipline", "frequency")
                    .iter_rows()}
    return {"kps": rows(tables.kps), "seeds": rows(tables.seeds), "links": rows(tables.links),
            "edges": rows(tables.edges), "in_discipline": rows(in_discipline), "style_labels": style_labels}


def _meta(driver: neo4j.Driver) -> dict:
    records = driver.execute_query("MATCH (m:GraphMeta {name: 'kp_graph'}) RETURN m.version AS version, "
                                   "m.loading AS loading").records
    return dict(records[0]) if records else {}


@pytest.mark.parametrize("writers", [1, 2])
def test_full_then_incremental_load_is_exactly_the_tables(neo4j_driver: neo4j.Driver, writers: int) -> None:
    rng = np.random.default_rng(5)
    first = _links(range(0, 400), rng)
    old = _tables(first)
    # next version: 40 new seeds, 30 seeds gone, 20 seeds' questions edited; weights and KP
    # frequencies and disciplines change with them, some KPs and edges appear or vanish
    grown = pl.concat([first.filter(~pl.col("seed_id").is_in([f"s{i}" for i in range(30)])), _links(range(400, 440), rng)])
    new = _tables(grown)
    edited = [f"s{i}" for i in range(100, 120)]
    new = GraphTables(kps=new.kps, links=new.links, edges=new.edges, seeds=new.seeds.with_columns(
        question=pl.when(pl.col("seed_id").is_in(edited)).then(pl.col("question") + " (edited)")
        .otherwise(pl.col("question"))))
    loader = GraphLoader(neo4j_driver, "neo4j", batch_size=37, writers=writers)  # many batches and rounds

    full = loader.load(diff(None, old), "v1", full=True)
    graph = _graph(neo4j_driver)
    assert {k: graph[k] for k in _expected(old)} == _expected(old)
    assert _meta(neo4j_driver) == {"version": "v1", "loading": None}
    assert full.rows["co_occurs_created"] == old.edges.height > 300

    delta = diff(state_of(old), new)
    counts = delta.counts()
    assert all(counts[k] for k in ("kps_new", "kps_changed", "kp_frequencies", "kps_gone", "seeds_new",
                                   "seeds_changed", "seeds_gone", "links_new", "links_gone", "edges_new",
                                   "edges_changed", "edges_gone"))
    moved = delta.kp_frequencies.join(old.kps.select("kp_id", pl.col("frequency").alias("old")), on="kp_id")
    assert any(band_label(new_f) != band_label(old_f) for new_f, old_f in moved.select("frequency", "old").iter_rows())
    incremental = loader.load(delta, "v2", full=False)
    graph = _graph(neo4j_driver)
    assert {k: graph[k] for k in _expected(new)} == _expected(new)
    assert _meta(neo4j_driver) == {"version": "v2", "loading": None}
    assert ("Discipline", len(DISCIPLINES)) in graph["counts"]
    # only the difference was written: every step's rows are the delta's, far fewer than a full load
    assert incremental.rows["co_occurs_created"] == counts["edges_new"] < new.edges.height // 4
    assert incremental.rows["has_kp_created"] == counts["links_new"]
    assert "wipe" not in incremental.rows

    # a full load over a graph in an unknown state gives the same graph
    loader.load(diff(None, new), "v2", full=True)
    assert _graph(neo4j_driver) == graph


def test_a_load_that_stops_half_way_leaves_no_version(neo4j_driver: neo4j.Driver) -> None:
    tables = _tables(_links(range(0, 50), np.random.default_rng(1)))
    GraphLoader(neo4j_driver, "neo4j").load(diff(None, tables), "v1", full=True)

    def stop(message: str) -> None:
        if "kps_created" in message:
            raise KeyboardInterrupt  # the process is killed after the KP nodes were written

    bigger = _tables(_links(range(0, 80), np.random.default_rng(2)))
    with pytest.raises(KeyboardInterrupt):
        GraphLoader(neo4j_driver, "neo4j", log=stop).load(diff(state_of(tables), bigger), "v2", full=False)
    assert _meta(neo4j_driver) == {"version": None, "loading": "v2"}  # never taken for v1 or v2


def test_lost_server_is_one_clear_error(neo4j_server) -> None:
    from linksyn_dagster.resources.graph_loader import GraphLoadError

    driver = neo4j.GraphDatabase.driver("bolt://127.0.0.1:1", auth=("neo4j", "x"))
    tables = _tables(_links(range(0, 5), np.random.default_rng(1)))
    with pytest.raises(GraphLoadError, match=r"lost Neo4j at bolt://127\.0\.0\.1:1 while loading graph version v1"):
        GraphLoader(driver, "neo4j", where="bolt://127.0.0.1:1").load(diff(None, tables), "v1", full=True)
    driver.close()


def test_state_store_keeps_one_complete_state(tmp_path) -> None:
    from linksyn_dagster.resources.graph_loader import GraphStateStore

    store = GraphStateStore(tmp_path / "graph_state")
    assert store.version() is None
    one = _tables(_links(range(0, 30), np.random.default_rng(3)))
    two = _tables(_links(range(0, 40), np.random.default_rng(4)))
    store.write("v1", state_of(one))
    assert store.version() == "v1"
    assert diff(store.read("v1"), one).empty and not diff(store.read("v1"), two).empty
    (tmp_path / "graph_state" / ".staging-v2-1").mkdir()  # a write that crashed half-way
    assert store.version() == "v1"
    store.write("v2", state_of(two))
    assert store.version() == "v2"
    assert sorted(p.name for p in (tmp_path / "graph_state").iterdir()) == ["v2"]
    assert diff(store.read("v2"), two).empty
