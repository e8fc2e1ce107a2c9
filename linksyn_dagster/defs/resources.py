"""The resources every LinkSyn asset uses, built from the settings (LINKSYN_* environment)."""

import dagster as dg

from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.io_manager import WarehouseIOManager
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import LinkSynSettings, load_settings


def build_resources(settings: LinkSynSettings) -> dict[str, object]:
    database = str(settings.duckdb_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        # asset outputs: one DuckDB table per asset, partitions replaced via partition_expr
        "io_manager": WarehouseIOManager(database=database),
        "warehouse": WarehouseResource(database=database),
        "graph": Neo4jResource(),
        "llm": LLMResource(),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(load_settings()))
