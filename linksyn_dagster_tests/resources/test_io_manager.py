"""The warehouse IO manager: partitions replaced, empty outputs written, reads by slice."""


import dagster as dg
import duckdb
import polars as pl

from linksyn_dagster.resources.io_manager import WarehouseIOManager

parts = dg.StaticPartitionsDefinition(["a", "b"])
ROWS: dict[str, list[int]] = {}


@dg.asset(partitions_def=parts, metadata={"partition_expr": "part"})
def numbers(context: dg.AssetExecutionContext) -> pl.DataFrame:
    values = ROWS[context.partition_key]
    return pl.DataFrame({"part": [context.partition_key] * len(values), "value": values},
                        schema={"part": pl.Utf8, "value": pl.Int64})


@dg.asset(ins={"numbers": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
def total(numbers: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"total": [int(numbers.get_column("value").sum())]})


def _run(db, selection, partition=None):
    result = dg.materialize([numbers, total], selection=selection, partition_key=partition,
                            resources={"io_manager": WarehouseIOManager(database=str(db))})
    assert result.success


def test_partitions_replace_and_empty_outputs_count(tmp_path):
    db = tmp_path / "w.duckdb"
    ROWS.update(a=[], b=[1, 2])
    _run(db, ["numbers"], "a")  # empty first output: the table exists anyway
    with duckdb.connect(str(db)) as conn:
        assert conn.execute("SELECT count(*) FROM numbers").fetchone() == (0,)
    _run(db, ["numbers"], "b")
    ROWS["a"] = [10]
    _run(db, ["numbers"], "a")
    _run(db, ["total"])
    ROWS["a"] = []  # a partition whose new output is empty loses its old rows
    _run(db, ["numbers"], "a")
    _run(db, ["numbers"], "b")  # re-materializing does not duplicate
    _run(db, ["total"])
    with duckdb.connect(str(db)) as conn:
        assert conn.execute("SELECT part, value FROM numbers ORDER BY value").fetchall() == [("b", 1), ("b", 2)]
        assert conn.execute("SELECT total FROM total").fetchone() == (3,)


def test_a_partition_written_with_a_new_column_adds_it_and_keeps_the_other_partitions(tmp_path):
    """A data dir made before a column existed: the next partition written with it adds the
    column (empty in the older rows) instead of failing the insert."""
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TABLE numbers AS SELECT 'b' AS part, 7::BIGINT AS value")
    ROWS.update(a=[1, 2])

    @dg.asset(name="numbers", partitions_def=parts, metadata={"partition_expr": "part"})
    def numbers_v2(context: dg.AssetExecutionContext) -> pl.DataFrame:
        values = ROWS[context.partition_key]
        return pl.DataFrame({"part": [context.partition_key] * len(values), "value": values,
                             "levels": [[v, v + 1] for v in values]},
                            schema={"part": pl.Utf8, "value": pl.Int64, "levels": pl.List(pl.Int32)})

    result = dg.materialize([numbers_v2], partition_key="a",
                            resources={"io_manager": WarehouseIOManager(database=str(db))})
    assert result.success
    with duckdb.connect(str(db)) as conn:
        rows = conn.execute("SELECT part, value, levels FROM numbers ORDER BY part, value").fetchall()
    assert rows == [("a", 1, [1, 2]), ("a", 2, [2, 3]), ("b", 7, None)]


def test_reading_a_never_materialized_asset_says_so(tmp_path):
    result = dg.materialize([numbers, total], selection=["total"], raise_on_error=False,
                            resources={"io_manager": WarehouseIOManager(database=str(tmp_path / "w.duckdb"))})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialize the asset numbers first" in str(failure.event_specific_data.error)
