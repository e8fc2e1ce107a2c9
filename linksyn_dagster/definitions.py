"""The code location: everything under ``defs/`` (one folder per pipeline stage), with the
resources and the executor built from one settings object.

``build_definitions(settings)`` is the one way to get Definitions: ``linksyn run`` and the
tests pass the settings they hold. The code location that ``dagster dev`` and
``linksyn ui`` load reads them here, from the LINKSYN_* environment (and ``.env``), once:
this is the only place the project turns the environment into settings for Dagster."""

from pathlib import Path

import dagster as dg

import linksyn_dagster.defs
from linksyn_dagster.defs.automation import automation_sensor, seed_stages_schedule
from linksyn_dagster.resources.graph import Neo4jResource
from linksyn_dagster.resources.io_manager import WarehouseIOManager
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.settings import Secret, SettingsResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import LinkSynSettings, load_settings


def executor_for(name: str) -> dg.ExecutorDefinition:
    """The Dagster executor behind an ``executor`` setting value."""
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # only in the deployment image (the `deploy` extra)

        return k8s_job_executor
    # multiprocess: Dagster's default executor, which also lets a run's config pick in_process
    return {"multiprocess": dg.multi_or_in_process_executor, "in_process": dg.in_process_executor}[name]


def build_resources(settings: LinkSynSettings) -> dict[str, object]:
    """Every resource the assets use, configured from ``settings`` alone."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog_url = settings.warehouse.catalog_url
    # the DuckDB file, or the Parquet catalog when its URL is set (a Secret: not run config)
    warehouse = WarehouseResource(database=str(settings.duckdb_path), files_dir=str(settings.warehouse_files_dir),
                                  catalog_url=Secret(catalog_url.get_secret_value() if catalog_url else None))
    return {
        # asset outputs: one warehouse table per asset, partitions replaced via partition_expr
        "io_manager": WarehouseIOManager(warehouse=warehouse),
        "warehouse": warehouse,
        "graph": Neo4jResource.from_settings(settings),
        "llm": LLMResource.from_settings(settings),
        "settings": SettingsResource.from_settings(settings),
    }


def build_definitions(settings: LinkSynSettings) -> dg.Definitions:
    """The assets, checks, jobs and sensors under ``defs/``; the seed schedule and the
    automation sensor on the clock ``settings`` name; the resources and the executor."""
    # the defs module and the directory holding the package, named rather than found: an
    # installed wheel has no pyproject.toml for Dagster to find the project by
    loaded = dg.load_defs(defs_root=linksyn_dagster.defs, project_root=Path(__file__).resolve().parent.parent)
    return dg.Definitions.merge(loaded, dg.Definitions(
        schedules=[seed_stages_schedule(settings.seeds.schedule_cron)],
        sensors=[automation_sensor(settings.automation_interval_s)],
        resources=build_resources(settings), executor=executor_for(settings.executor)))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
