"""The warehouse IO manager: partitions replaced, empty outputs written, reads by slice; on
the DuckDB file and on the Parquet catalog (a real PostgreSQL from fixtures_postgres)."""


import dagster as dg
import duckdb
import polars as pl
import pytest

from linksyn_dagster.resources.io_manager import WarehouseIOManager
from linksyn_dagster.resources.settings import Secret
from linksyn_dagster.resources.warehouse import WarehouseResource

parts = dg.StaticPartitionsDefinition(["a", "b"])
ROWS: dict[str, list[int]] = {}


@pytest.fixture(params=["duckdb", "catalog"])
def warehouse(request, tmp_path) -> dict:
    """The settings of a warehouse on each backend, as build_resources passes them."""
    url = request.getfixturevalue("postgres_url") if request.param == "catalog" else None
    return {"database": str(tmp_path / "w.duckdb"), "files_dir": str(tmp_path / "files"), "catalog_url": Secret(url)}


def _rows(warehouse: dict, statement: str) -> list[tuple]:
    with WarehouseResource(**warehouse).get_connection() as conn:
        return conn.execute(statement).fetchall()


@dg.asset(partitions_def=parts, metadata={"partition_expr": "part"})
def numbers(context: dg.AssetExecutionContext) -> pl.DataFrame:
    values = ROWS[context.partition_key]
    return pl.DataFrame({"part": [context.partition_key] * len(values), "value": values},
                        schema={"part": pl.Utf8, "value": pl.Int64})


@dg.asset(ins={"numbers": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
def total(numbers: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"total": [int(numbers.get_column("value").sum())]})


def _run(warehouse, selection, partition=None):
    result = dg.materialize([numbers, total], selection=selection, partition_key=partition,
                            resources={"io_manager": WarehouseIOManager(warehouse=WarehouseResource(**warehouse))})
    assert result.success


def test_partitions_replace_and_empty_outputs_count(warehouse):
    ROWS.update(a=[], b=[1, 2])
    _run(warehouse, ["numbers"], "a")  # empty first output: the table exists anyway
    assert _rows(warehouse, "SELECT count(*) FROM numbers") == [(0,)]
    _run(warehouse, ["numbers"], "b")
    ROWS["a"] = [10]
    _run(warehouse, ["numbers"], "a")
    _run(warehouse, ["total"])
    assert _rows(warehouse, "SELECT total FROM total") == [(13,)]
    ROWS["a"] = []  # a partition whose new output is empty loses its old rows
    _run(warehouse, ["numbers"], "a")
    _run(warehouse, ["numbers"], "b")  # re-materializing does not duplicate
    _run(warehouse, ["total"])
    assert _rows(warehouse, "SELECT part, value FROM numbers ORDER BY value") == [("b", 1), ("b", 2)]
    assert _rows(warehouse, "SELECT total FROM total") == [(3,)]


def test_a_partition_written_with_a_new_column_adds_it_and_keeps_the_other_partitions(warehouse):
    """A data dir made before a column existed: the next partition written with it adds the
    column (empty in the older rows) instead of failing the insert."""
    WarehouseResource(**warehouse).write_slice("numbers", pl.DataFrame({"part": ["b"], "value": [7]}), "part", ["b"])
    ROWS.update(a=[1, 2])

    @dg.asset(name="numbers", partitions_def=parts, metadata={"partition_expr": "part"})
    def numbers_v2(context: dg.AssetExecutionContext) -> pl.DataFrame:
        values = ROWS[context.partition_key]
        return pl.DataFrame({"part": [context.partition_key] * len(values), "value": values,
                             "levels": [[v, v + 1] for v in values]},
                            schema={"part": pl.Utf8, "value": pl.Int64, "levels": pl.List(pl.Int32)})

    result = dg.materialize([numbers_v2], partition_key="a", resources={"io_manager": WarehouseIOManager(warehouse=WarehouseResource(**warehouse))})
    assert result.success
    rows = _rows(warehouse, "SELECT part, value, levels FROM numbers ORDER BY part, value")
    assert rows == [("a", 1, [1, 2]), ("a", 2, [2, 3]), ("b", 7, None)]


def test_a_rerun_that_changes_a_few_rows_writes_only_those_and_reads_back_in_its_order(tmp_path):
    """On the DuckDB file a partition written again with rows dropped and rows added at the
    end deletes and appends just those: its kept rows stay where they are in the table (before
    the other partition's, not moved behind them as a rewrite would), and the slice reads
    back as the new frame, in its order. A reordered slice is rewritten."""
    warehouse = {"database": str(tmp_path / "w.duckdb"), "files_dir": str(tmp_path / "files"), "catalog_url": Secret(None)}
    ROWS.update(a=list(range(50)), b=[1000, 1001])
    _run(warehouse, ["numbers"], "a")
    _run(warehouse, ["numbers"], "b")
    ROWS["a"] = [v for v in range(50) if v % 10 != 3] + [60, 61]
    _run(warehouse, ["numbers"], "a")
    assert [value for (value,) in _rows(warehouse, "SELECT value FROM numbers WHERE part = 'a'")] == ROWS["a"]
    stored = [value for (value,) in _rows(warehouse, "SELECT value FROM numbers")]
    assert stored == ROWS["a"][:-2] + [1000, 1001, 60, 61]  # edited in place, the new rows appended
    ROWS["a"] = list(reversed(ROWS["a"]))
    _run(warehouse, ["numbers"], "a")
    assert [value for (value,) in _rows(warehouse, "SELECT value FROM numbers WHERE part = 'a'")] == ROWS["a"]


def test_reading_a_never_materialized_asset_says_so(warehouse):
    result = dg.materialize([numbers, total], selection=["total"], raise_on_error=False,
                            resources={"io_manager": WarehouseIOManager(warehouse=WarehouseResource(**warehouse))})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialize the asset numbers first" in str(failure.event_specific_data.error)


def test_an_input_reads_only_its_columns_and_a_partition_its_slice_of_a_global_table(warehouse):
    """`columns` in an input's metadata loads only those columns; `slice_by` gives a run of one
    partition only the rows of an unpartitioned upstream whose column is its key (kp_paths
    reading its discipline's paths of walk_plan)."""
    seen: dict[str, pl.DataFrame] = {}

    @dg.asset
    def plan() -> pl.DataFrame:
        return pl.DataFrame({"part": ["a", "b", "b", "c"], "value": [1, 2, 3, 4], "note": ["w", "x", "y", "z"]})

    @dg.asset(partitions_def=parts, ins={"plan": dg.AssetIn(metadata={"slice_by": "part", "columns": ["part", "value"]})})
    def share(context: dg.AssetExecutionContext, plan: pl.DataFrame) -> None:
        seen[context.partition_key] = plan

    @dg.asset(ins={"plan": dg.AssetIn(metadata={"columns": ["value"]})})
    def values(plan: pl.DataFrame) -> None:
        seen["all"] = plan

    resources = {"io_manager": WarehouseIOManager(warehouse=WarehouseResource(**warehouse))}
    assert dg.materialize([plan, values], resources=resources).success
    for key in ("a", "b"):
        assert dg.materialize([plan, share], selection=["share"], partition_key=key, resources=resources).success
    assert seen["all"].to_dict(as_series=False) == {"value": [1, 2, 3, 4]}
    assert seen["a"].to_dict(as_series=False) == {"part": ["a"], "value": [1]}
    assert seen["b"].sort("value").to_dict(as_series=False) == {"part": ["b", "b"], "value": [2, 3]}


def test_columns_to_read_must_be_plain_identifiers():
    from linksyn_dagster.queries import select_list
    assert select_list(None) == "*"
    assert select_list(["kp_id", "name"]) == '"kp_id", "name"'
    for bad in (["a; DROP TABLE x"], ['a"b'], []):
        with pytest.raises(ValueError, match="plain identifiers"):
            select_list(bad)


def test_side_tables_replace_their_slice_typed_as_declared(warehouse):
    """``replace`` keeps other slices' rows, replaces its own, and stores the declared types."""
    resource = WarehouseResource(**warehouse)
    resource.ensure_schema()
    assert resource.query("failures_per_stage").height == 0  # declared, never written: empty
    row = {"partition_key": "p", "item_id": "i", "request_key": "k", "model": "m", "prompt_version": "v",
           "error_class": "E", "message": "x", "attempts": 1}
    for stage, items in (("s1", 2), ("s2", 3), ("s1", 1)):  # s1 written twice: its second write wins
        resource.replace("llm_failures", pl.DataFrame([{**row, "stage": stage, "item_id": f"i{n}"}
                                                       for n in range(items)]), stage=stage, partition_key="p")
    assert _rows(warehouse, "SELECT stage, count(*) FROM llm_failures GROUP BY stage ORDER BY stage") == [
        ("s1", 1), ("s2", 3)]
    assert _rows(warehouse, "SELECT data_type FROM information_schema.columns WHERE table_name = 'llm_failures' "
                            "AND column_name = 'attempts'") == [("INTEGER",)]


def test_several_side_tables_replace_the_same_slice_at_once(warehouse):
    """``replace_each``: the slice of every table given, the other slices kept; on the DuckDB
    file all or nothing (a table that fails leaves the others as they were)."""
    resource = WarehouseResource(**warehouse)
    failure = {"partition_key": "p", "request_key": "k", "model": "m", "prompt_version": "v", "error_class": "E",
               "message": "x", "attempts": 1}
    usage = {"partition_key": "p", "discipline": "p", "path_id": None, "request_key": "k", "model": "m",
             "prompt_tokens": 1, "completion_tokens": 2, "reasoning_tokens": 0, "cost_usd": 0.0, "attempts": 1,
             "from_store": False}

    def frames(stage: str, n: int) -> dict[str, pl.DataFrame]:
        return {"llm_failures": pl.DataFrame([{**failure, "stage": stage, "item_id": f"f{i}"} for i in range(n)]),
                "llm_usage": pl.DataFrame([{**usage, "stage": stage, "item_id": f"u{i}"} for i in range(n + 1)])}

    resource.replace_each(frames("s1", 2), stage="s1", partition_key="p")
    resource.replace_each(frames("s2", 1), stage="s2", partition_key="p")
    resource.replace_each(frames("s1", 3), stage="s1", partition_key="p")  # replaces s1's rows, keeps s2's
    assert _rows(warehouse, "SELECT stage, count(*) FROM llm_failures GROUP BY stage ORDER BY stage") == [
        ("s1", 3), ("s2", 1)]
    assert _rows(warehouse, "SELECT stage, count(*) FROM llm_usage GROUP BY stage ORDER BY stage") == [
        ("s1", 4), ("s2", 2)]
    if warehouse["catalog_url"].value is None:
        broken = {**frames("s2", 5), "llm_usage": pl.DataFrame({"no_such_column": [1]})}
        with pytest.raises(duckdb.Error):
            resource.replace_each(broken, stage="s2", partition_key="p")
        assert _rows(warehouse, "SELECT count(*) FROM llm_failures WHERE stage = 's2'") == [(1,)]


def test_a_transaction_commits_when_its_block_ends_and_rolls_back_when_it_raises():
    from linksyn_dagster.queries import transaction

    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (x INTEGER)")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(KeyboardInterrupt), transaction(conn):  # an interrupt too
        conn.execute("INSERT INTO t VALUES (2)")
        raise KeyboardInterrupt
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    with transaction(conn):  # the connection is usable afterwards: no transaction left open
        conn.execute("DELETE FROM t")
    assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
