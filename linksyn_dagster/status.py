"""``linksyn status``: what is materialized on this data dir, stage by stage and partition by
partition, how fresh it is, how big the data dir is, and which local services run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from linksyn_dagster.settings import LinkSynSettings


@dataclass(frozen=True)
class AssetStatus:
    asset: str
    group: str
    partitions: int | None  # None: not partitioned
    materialized: int  # partitions materialized (0 or 1 when not partitioned)
    last: float | None  # the newest materialization's timestamp


def asset_statuses(settings: LinkSynSettings) -> list[AssetStatus]:
    """One row per materializable asset, in the pipeline's order, from the data dir's Dagster
    instance (nothing is created when there is none yet)."""
    from linksyn_dagster.definitions import build_definitions
    from linksyn_dagster.pipeline import pipeline_stages, prepare_instance

    definitions = build_definitions(settings)
    graph = definitions.resolve_asset_graph()
    have_instance = (settings.dagster_home / "dagster.yaml").exists()
    instance = prepare_instance(settings) if have_instance else None
    rows = []
    try:
        for stage in pipeline_stages(definitions):
            for name in stage.assets:
                node = graph.get(_key(name))
                keys = node.partitions_def.get_partition_keys() if node.partitions_def else None
                event = instance.get_latest_materialization_event(node.key) if instance else None
                if keys is None:
                    materialized = 1 if event else 0
                else:
                    materialized = len(set(instance.get_materialized_partitions(node.key)) & set(keys)) \
                        if instance else 0
                rows.append(AssetStatus(name, node.group_name or "", len(keys) if keys is not None else None,
                                        materialized, event.timestamp if event else None))
    finally:
        if instance is not None:
            instance.dispose()
    return rows


def _key(name: str):
    import dagster as dg

    return dg.AssetKey.from_user_string(name)


def ago(timestamp: float | None, now: float | None = None) -> str:
    """How long ago, in the largest whole unit ("never" without a timestamp)."""
    if timestamp is None:
        return "never"
    seconds = max(0.0, (now if now is not None else time.time()) - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def dir_size(path: Path) -> int:
    """Bytes of the files below ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def human_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # unreachable: GB is the last unit
