"""The IO manager of asset outputs: one warehouse table per asset, polars frames in and out
(the DuckDB file, or the Parquet catalog when ``catalog_url`` is set: :mod:`.warehouse`).

Written here rather than taken from dagster-duckdb-polars because that one skips empty
outputs: a partition whose new output is empty kept its stale rows, and a downstream asset
failed on a table that was never created. Here an output always replaces its slice (the
partitions of the run, named by the asset's ``partition_expr`` metadata, or the whole
table), in one transaction, and an empty output still creates the table.
"""

# no `from __future__ import annotations`: Dagster reads the ResourceDependency annotation at class creation
import dagster as dg
import polars as pl

from linksyn_dagster.resources.warehouse import WarehouseResource


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores each asset as a table of ``warehouse`` named after it."""

    warehouse: dg.ResourceDependency[WarehouseResource]

    @staticmethod
    def _slice(context: dg.OutputContext | dg.InputContext) -> tuple[str | None, list[str]]:
        column = (context.definition_metadata or {}).get("partition_expr")
        if column is None or not context.has_asset_partitions:
            return None, []
        return column, list(context.asset_partition_keys)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        if obj is None:
            return
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars DataFrame, got {type(obj)}")
        table = context.asset_key.path[-1]
        column, keys = self._slice(context)
        self.warehouse.backend.write_slice(table, obj, column, keys)
        context.add_output_metadata({"table": f"{table} ({self.warehouse.where})"})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        """The upstream's rows of the partitions the run reads (its ``partition_expr``), or
        all of them. Two metadata of the input (``dg.AssetIn(metadata=...)``) narrow what is
        read: ``columns``, the columns to load; ``slice_by``, a column of an unpartitioned
        upstream whose value is the partition key of a downstream run of one partition (a
        per-discipline asset reading its discipline's rows of a global table)."""
        upstream = context.upstream_output
        assert upstream is not None
        table = context.asset_key.path[-1]
        wanted = context.definition_metadata or {}
        column = (upstream.definition_metadata or {}).get("partition_expr")
        keys = list(context.asset_partition_keys) if column and context.has_asset_partitions else []
        if not keys and wanted.get("slice_by") and context.has_partition_key:
            column, keys = wanted["slice_by"], [context.partition_key]
        frame = self.warehouse.backend.read_slice(table, column if keys else None, keys, wanted.get("columns"))
        if frame is None:
            raise dg.Failure(f"table {table!r} does not exist in {self.warehouse.where}: materialize the asset "
                             f"{table} first")
        return frame
