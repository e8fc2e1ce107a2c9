"""The code location: everything under ``defs/`` (one folder per pipeline stage) plus the
resources, chosen in one place from the settings, and the executor ``LINKSYN_EXECUTOR``
names (``k8s``: every step a Kubernetes Job, for the deployment in ``deploy/``)."""

from pathlib import Path

import dagster as dg

from linksyn_dagster.settings import load_settings


def executor_for(name: str) -> dg.ExecutorDefinition:
    """The Dagster executor behind an ``executor`` setting value."""
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # only in the deployment image (the `deploy` extra)

        return k8s_job_executor
    # multiprocess: Dagster's default executor, which also lets a run's config pick in_process
    return {"multiprocess": dg.multi_or_in_process_executor, "in_process": dg.in_process_executor}[name]


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
    return dg.Definitions.merge(loaded, dg.Definitions(executor=executor_for(load_settings().executor)))
