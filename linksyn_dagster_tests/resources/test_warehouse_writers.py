"""Several processes materialize different partitions of one asset at once through the
warehouse's Parquet catalog (a real PostgreSQL from fixtures_postgres), as step pods would:
none fails (no lock errors), and every row is there once, re-runs included."""

import multiprocessing

import dagster as dg
import polars as pl

from linksyn_dagster.definitions import build_resources
from linksyn_dagster.resources.warehouse import read_warehouse
from linksyn_dagster.settings import LinkSynSettings

PARTS = [f"p{i}" for i in range(3)]
ROWS = 20_000
parts = dg.StaticPartitionsDefinition(PARTS)


@dg.asset(partitions_def=parts, metadata={"partition_expr": "part"})
def numbers(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"part": context.partition_key, "n": range(ROWS)})


def _settings(data_dir: str, url: str) -> LinkSynSettings:
    return LinkSynSettings.model_validate({"data_dir": data_dir, "warehouse": {"catalog_url": url}})


def _writer(data_dir: str, url: str, partition: str, start: multiprocessing.Barrier) -> None:
    resources = build_resources(_settings(data_dir, url))
    start.wait(timeout=120)  # all processes write at the same moment
    for _ in range(2):  # the second run replaces the first one's rows
        result = dg.materialize([numbers], partition_key=partition, resources={"io_manager": resources["io_manager"]},
                                raise_on_error=False)
        if not result.success:
            raise SystemExit(f"{partition}: {result.all_events[-1].message}")


def test_partitions_written_by_separate_processes_at_once_are_all_there_once(postgres_url, tmp_path):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(PARTS))
    writers = [context.Process(target=_writer, args=(str(tmp_path), postgres_url, part, start)) for part in PARTS]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=180)
    assert [w.exitcode for w in writers] == [0] * len(PARTS)

    warehouse = build_resources(_settings(str(tmp_path), postgres_url))["warehouse"]
    assert not (tmp_path / "linksyn.duckdb").exists()  # nothing went to the DuckDB file
    counts = warehouse.read_slice("numbers", None, []).group_by("part").agg(
        rows=pl.len(), distinct=pl.col("n").n_unique()).sort("part")
    assert counts.rows() == [(part, ROWS, ROWS) for part in PARTS]
    assert warehouse.read_slice("numbers", "part", ["p2"]).height == ROWS
    with read_warehouse(_settings(str(tmp_path), postgres_url)) as conn:  # what the CLI's summaries read
        assert conn.execute("SELECT count(*) FROM numbers").fetchone() == (ROWS * len(PARTS),)
