"""The code location: everything under ``defs/`` (one folder per pipeline stage) plus the
resources, chosen in one place from the settings."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
