"""knowledge_points by increments: after any sequence of added seeds, the tables equal a full
run's over the same seeds (core/kp_increment.py), on an in-memory DuckDB."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import polars as pl
import pytest

from linksyn_dagster.core.kp_increment import NeedsFullRun, apply_delta, full_run, increment, state_is_whole
from linksyn_dagster.queries import split_statements, sql

DISCIPLINES = ["biology", "chemistry", "physics", "history", "economics"]
# surface forms of one concept (the KPs that only a later seed merges are in _early and _bridges)
VOCABULARY = [
    ["conservation of energy", "Energy conservation", "conservation of energies"],
    ["X-ray", "x ray", "Xray", "X-Rays"],
    ["DNA", "deoxyribonucleic acid", "Deoxyribonucleic Acids"],
    ["chromatography", "Chromatographies"], ["chromatogrophy"],  # one edit apart
    ["supply and demand", "demand and supply"],
    ["World War II", "WWII", "Second World War"],
    ["mitochondria", "mitochondrion"],
    ["!!!"],  # no key: ignored
]
WORDS = ["acid", "base", "force", "market", "empire", "gene", "orbit", "price", "treaty", "enzyme", "field",
         "wave", "trade", "revolution", "protein", "charge", "inflation", "reaction", "cell", "atom"]


def _mentions(seed_count: int, rng: random.Random) -> pl.DataFrame:
    rows = []
    start = dt.datetime(2026, 1, 1)
    for s in range(seed_count):
        seed, discipline = f"s{s:04d}", rng.choice(DISCIPLINES)
        for rank in range(rng.randint(1, 6)):
            if rng.random() < 0.45:
                name = rng.choice(rng.choice(VOCABULARY))
            else:
                name = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
                name = name.title() if rng.random() < 0.2 else name + ("s" if rng.random() < 0.2 else "")
            kp_discipline = rng.choice([discipline, discipline, rng.choice(DISCIPLINES), None, ""])
            rows.append({"seed_id": seed, "discipline": discipline, "kp_rank": rank + 1, "kp_name": name,
                         "kp_discipline": kp_discipline,
                         "extracted_at": start + dt.timedelta(minutes=rng.randrange(100_000))})
    return pl.DataFrame(rows, schema={"seed_id": pl.Utf8, "discipline": pl.Utf8, "kp_rank": pl.Int32,
                                      "kp_name": pl.Utf8, "kp_discipline": pl.Utf8,
                                      "extracted_at": pl.Datetime("us")})


def _bridges() -> pl.DataFrame:
    """Seeds whose arrival merges KPs an earlier step kept apart (the last increment gets them)."""
    t = dt.datetime(2026, 6, 1)
    rows = [("b1", "biology", "photosinthesis", "biology"),  # shares biology with photosynthesis now
            ("b2", "history", "cell blood", None),  # joins "blood cell" (R3) and "cellblood" (R2)
            ("b3", "chemistry", "electronegotivity", "physics"),
            ("b3", "chemistry", "electronegativity", "physics")]
    return pl.DataFrame([{"seed_id": s, "discipline": d, "kp_rank": 1, "kp_name": n, "kp_discipline": k,
                          "extracted_at": t} for s, d, n, k in rows],
                        schema={"seed_id": pl.Utf8, "discipline": pl.Utf8, "kp_rank": pl.Int32, "kp_name": pl.Utf8,
                                "kp_discipline": pl.Utf8, "extracted_at": pl.Datetime("us")})


def _early() -> pl.DataFrame:
    """Seeds of the first step that keep the bridged KPs apart."""
    t = dt.datetime(2026, 1, 1)
    rows = [("e1", "chemistry", "photosinthesis", "chemistry"), ("e2", "biology", "photosynthesis", "biology"),
            ("e3", "biology", "blood cell", "biology"), ("e4", "physics", "cellblood", "physics"),
            ("e5", "chemistry", "electronegativity", "chemistry"), ("e6", "physics", "electronegotivity", "physics"),
            ("e5", "chemistry", "blood cell", "chemistry")]
    return pl.DataFrame([{"seed_id": s, "discipline": d, "kp_rank": 1, "kp_name": n, "kp_discipline": k,
                          "extracted_at": t} for s, d, n, k in rows], schema=_bridges().schema)


def _warehouse(rows: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    for statement in split_statements(sql("schema")):
        conn.execute(statement)
    conn.register("incoming", rows.to_arrow())
    conn.execute("CREATE TABLE seed_kps AS SELECT * FROM incoming")
    conn.unregister("incoming")
    return conn


def _full(conn: duckdb.DuckDBPyConnection) -> None:
    rows = conn.execute("SELECT seed_id, discipline AS seed_discipline, kp_name, kp_discipline, extracted_at "
                        "FROM seed_kps").pl()
    kps, links, edges, names, counts = full_run(rows)
    for table, frame in (("knowledge_points", kps), ("seed_kp_links", links), ("kp_cooccurrence", edges),
                         ("kp_names", names), ("kp_counts", counts)):
        conn.register("incoming", frame.to_arrow())
        if table == "knowledge_points":
            conn.execute("CREATE OR REPLACE TABLE knowledge_points AS SELECT * FROM incoming")
        else:
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        conn.unregister("incoming")


def _add(conn: duckdb.DuckDBPyConnection, rows: pl.DataFrame):
    conn.register("incoming", rows.to_arrow())
    conn.execute("INSERT INTO seed_kps BY NAME SELECT * FROM incoming")
    conn.unregister("incoming")
    delta = increment(conn)
    apply_delta(conn, delta)
    conn.register("incoming", delta.kps.to_arrow())
    conn.execute("CREATE OR REPLACE TABLE knowledge_points AS SELECT * FROM incoming")
    conn.unregister("incoming")
    return delta


TABLES = {"knowledge_points": "kp_id", "seed_kp_links": "seed_id, kp_id", "kp_cooccurrence": "kp_a, kp_b",
          "kp_names": "kp_name", "kp_counts": "kp_id, kind, value"}


def _tables(conn: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY {order}").pl() for t, order in TABLES.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_increments_equal_a_full_run(seed: int) -> None:
    rng = random.Random(seed)
    corpus = _mentions(400, rng)
    seeds = corpus.get_column("seed_id").unique().sort().to_list()
    rng.shuffle(seeds)  # each step's seeds come from every discipline
    steps = [seeds[:120], seeds[120:200], seeds[200:201], seeds[201:330], seeds[330:]]
    conn = _warehouse(pl.concat([_early(), corpus.filter(pl.col("seed_id").is_in(steps[0]))]))
    _full(conn)
    merged = 0
    for i, step in enumerate(steps[1:], start=1):
        assert state_is_whole(conn)
        added = corpus.filter(pl.col("seed_id").is_in(step))
        delta = _add(conn, pl.concat([added, _bridges()]) if i == 2 else added)
        bringing_kps = added.filter(pl.col("kp_name") != "!!!").get_column("seed_id").n_unique()
        assert delta.new_seeds == bringing_kps + (3 if i == 2 else 0)
        merged += delta.kps_removed.height
    assert merged >= 3  # the bridges merged KPs the first step kept apart

    fresh = _warehouse(pl.concat([_early(), corpus, _bridges()]))
    _full(fresh)
    got, want = _tables(conn), _tables(fresh)
    for table in TABLES:
        assert got[table].equals(want[table]), table
    kps = want["knowledge_points"]
    # the bridged KPs are one KP each in the end
    def kp_of(surface: str) -> str:
        return kps.filter(pl.col("aliases").list.contains(surface)).get_column("kp_id").item()

    assert kp_of("cell blood") == kp_of("cellblood") == kp_of("blood cell")
    assert kp_of("photosinthesis") == kp_of("photosynthesis")
    assert kp_of("electronegotivity") == kp_of("electronegativity")


def test_an_increment_reads_only_what_its_seeds_touch() -> None:
    """A seed naming only new KPs changes only its own rows: nothing else is recomputed."""
    rng = random.Random(5)
    conn = _warehouse(_mentions(200, rng))
    _full(conn)
    before = _tables(conn)
    lone = pl.DataFrame({"seed_id": ["n1", "n1"], "discipline": ["law", "law"], "kp_rank": [1, 2],
                         "kp_name": ["habeas corpus", "stare decisis"], "kp_discipline": ["law", "law"],
                         "extracted_at": [dt.datetime(2026, 9, 1)] * 2}, schema=_bridges().schema)
    delta = _add(conn, lone)
    assert delta.counts() == {"kps_upserted": 2, "kps_removed": 0, "names": 2, "links_added": 2,
                              "links_removed": 0, "edges_upserted": 1, "edges_removed": 0}
    kinds = {k: n for k, n in delta.changes.group_by("kind", "change").len().select(
        pl.format("{} {}", "kind", "change"), "len").iter_rows()}
    assert kinds == {"kp new": 2, "link new": 2, "edge new": 1, "seed new": 1}
    after = _tables(conn)
    assert after["knowledge_points"].height == before["knowledge_points"].height + 2
    assert after["kp_cooccurrence"].height == before["kp_cooccurrence"].height + 1


def test_no_new_seeds_change_nothing() -> None:
    conn = _warehouse(_mentions(50, random.Random(9)))
    _full(conn)
    before = _tables(conn)
    delta = increment(conn)
    assert delta.new_seeds == 0 and not any(delta.counts().values())
    apply_delta(conn, delta)
    assert all(before[t].equals(_tables(conn)[t]) for t in TABLES)


def test_state_half_written_is_not_incremented() -> None:
    conn = _warehouse(_mentions(50, random.Random(4)))
    assert not state_is_whole(conn)  # no run yet
    _full(conn)
    assert state_is_whole(conn)
    conn.execute("CREATE TABLE kept AS SELECT * FROM seed_kp_links")
    conn.execute("DELETE FROM seed_kp_links WHERE seed_id = (SELECT min(seed_id) FROM seed_kp_links)")
    assert not state_is_whole(conn)
    conn.execute("DELETE FROM seed_kp_links")
    conn.execute("INSERT INTO seed_kp_links SELECT * FROM kept")
    assert state_is_whole(conn)
    # a seed gone from seed_kps (a partition written again without it): an increment cannot follow
    conn.execute("DELETE FROM seed_kps WHERE seed_id = (SELECT min(seed_id) FROM seed_kp_links)")
    assert not state_is_whole(conn)


def test_a_near_duplicate_block_outgrowing_the_limit_asks_for_a_full_run() -> None:
    """The full run skips an R4 block of more than 64 entries, so merges it made would undo:
    the increment says so rather than keep them."""
    t = dt.datetime(2026, 1, 1)
    letters = "cdefghijklmnopqrstuvwxyz"
    # "baaaaaaaaa" gives 9 entries "baaaaaaaa", each one-letter insertion of it gives 1: 57
    before = ["baaaaaaaaa"] + [f"b{x}aaaaaaaa" for x in letters] + [f"ba{x}aaaaaaa" for x in letters]
    later = [f"baa{x}aaaaaa" for x in letters[:10]]

    def rows(names: list[str], prefix: str) -> pl.DataFrame:
        return pl.DataFrame([{"seed_id": f"{prefix}{i}", "discipline": "physics", "kp_rank": 1, "kp_name": n,
                              "kp_discipline": "physics", "extracted_at": t} for i, n in enumerate(names)],
                            schema=_bridges().schema)

    conn = _warehouse(rows(before, "a"))
    _full(conn)
    with pytest.raises(NeedsFullRun, match="grew from 57 to 67"):
        _add(conn, rows(later, "z"))


def test_kp_names_built_a_slice_of_keys_at_a_time_equal_one_pass(monkeypatch) -> None:
    """name_rows builds the keys' blocking signatures a slice at a time (memory); the rows
    must not depend on where the slices fall."""
    from linksyn_dagster.core import kp_increment
    rows = _mentions(300, random.Random(4)).rename({"discipline": "seed_discipline"})
    whole = full_run(rows)[3]
    monkeypatch.setattr(kp_increment, "SIGNATURE_SLICE", 7)
    sliced = full_run(rows)[3]
    assert whole.height > 7 * 10 and sliced.equals(whole)
    assert whole.filter(pl.col("variants").list.len() > 0).height > 0  # signatures were built at all
