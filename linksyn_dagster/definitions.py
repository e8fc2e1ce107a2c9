"""The code location: everything under ``defs/`` (one folder per pipeline stage) plus the
resources, chosen in one place from the settings, and the executor ``LINKSYN_EXECUTOR``
names (``k8s``: every step a Kubernetes Job, for the deployment in ``deploy/``)."""

from pathlib import Path

import dagster as dg

import linksyn_dagster.defs
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
    # the defs module and the directory holding the package, named rather than found: an
    # installed wheel has no pyproject.toml for Dagster to find the project by
    loaded = dg.load_defs(defs_root=linksyn_dagster.defs, project_root=Path(__file__).resolve().parent.parent)
    return dg.Definitions.merge(loaded, dg.Definitions(executor=executor_for(load_settings().executor)))
