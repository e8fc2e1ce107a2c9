"""seed_qa: normalized seed questions of one discipline, loaded from the configured seed
directory (bundled demo seeds by default)."""


from typing import Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.decontam import HIT_SCHEMA
from linksyn_dagster.core.seed_cache import CACHE_DIR, cached_seed_load
from linksyn_dagster.core.seeds import REJECT_SCHEMA, demo_seed_dir
from linksyn_dagster.defs.decontamination import (
    benchmark_fingerprint, benchmark_index, decontaminate_seeds, record_hits)
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import side_table_materialization, side_table_spec, table_metadata
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.preflight import missing_paths
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.settings import SettingsResource

CHECK_UNIQUE_SEED_IDS = "unique_seed_ids"
CHECK_SEEDS_PRESENT = "seeds_present"
SEED_REJECTS = "seed_rejects"

seed_rejects = side_table_spec(
    SEED_REJECTS, "Seed rows and files that could not be loaded, with file, line, field and reason (the valid rows "
    "of the same file still load). Written by seed_qa: every run reads every seed file, so each replaces the "
    "whole table, whichever disciplines it loads.", columns.SEED_REJECTS, REJECT_SCHEMA,
    written_by="seed_qa", group_name="seeds")


@dg.asset(
    partitions_def=discipline_partitions,
    # a backfill of every discipline is one run: the seed files are parsed once and no
    # process is started per discipline (a run of one partition works the same way)
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "discipline"},
    kinds={"duckdb", "polars"},
    group_name="seeds",
    check_specs=[
        dg.AssetCheckSpec(CHECK_UNIQUE_SEED_IDS, asset="seed_qa", description="no seed_id twice"),
        dg.AssetCheckSpec(CHECK_SEEDS_PRESENT, asset="seed_qa",
                          description="every partition of the run has seeds (warns naming the disciplines "
                                      "without any)"),
    ],
)
def seed_qa(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
            settings: SettingsResource) -> Iterator:
    """Seed QA of the run's disciplines (one partition each): MMLU/CMMLU CSV, JSONL or Parquet files from
    LINKSYN_SEEDS__SOURCE_DIR (bundled demo seeds when unset), normalized, hashed and
    de-duplicated. Rows that cannot be loaded land in the `seed_rejects` table with file,
    line and reason; the valid rows of the same file still load. Seeds that are items of
    the evaluation sets in LINKSYN_DECONTAM__BENCHMARK_PATHS are left out and listed in
    `decontamination_hits`; a seed is checked against the same evaluation sets once (an
    increment checks its new seeds). A backfill of several disciplines runs as one run."""
    settings = settings.value
    missing = missing_paths(settings)
    if missing:
        raise dg.Failure(description="; ".join(missing))
    source = settings.seeds.source_dir or demo_seed_dir()
    # each seed file parsed once (one file in memory at a time) and streamed into one Parquet
    # per content of the seed directory, whichever partition runs first; the others read
    # their discipline's rows from it. New or changed files are the only ones parsed again.
    loaded = cached_seed_load(source, settings.seeds.max_field_chars, settings.data_dir / CACHE_DIR)
    warehouse.replace(SEED_REJECTS, loaded.rejects)  # every partition sees every file: same rows
    written = [side_table_materialization(SEED_REJECTS, loaded.rejects, columns.SEED_REJECTS)]

    # a seed that is an evaluation benchmark item is left out before it can spread into
    # KPs, paths and new QA; it is listed in decontamination_hits with what it matched
    # (only seeds not checked against the same benchmarks before: see decontaminate_seeds)
    benchmarks = benchmark_index(settings.decontam, settings.release)
    fingerprint = benchmark_fingerprint(settings.decontam, settings.release) if benchmarks is not None else None
    parts, contaminated, checked, empty = [], 0, 0, []
    for key in context.partition_keys:
        seeds, hits = loaded.seeds(key), pl.DataFrame(schema=HIT_SCHEMA)
        if benchmarks is not None:
            seeds, hits, checked_now = decontaminate_seeds(seeds, benchmarks[1], fingerprint,
                                                           settings.data_dir / CACHE_DIR, key)
            contaminated += hits.get_column("item_id").n_unique()
            checked += checked_now
        # also without benchmarks: the partition's hits asset always says what the table holds
        written.append(record_hits(warehouse, "seed_qa", key, hits))
        if seeds.height == 0:
            empty.append(key)
        parts.append(seeds)
    seeds = pl.concat(parts, how="vertical_relaxed")
    other_subjects = (
        loaded.scan().filter(pl.col("discipline") == "other").select(pl.col("subject").unique().sort())
        .collect().get_column("subject").to_list()
    )
    duplicate_ids = seeds.height - seeds.get_column("seed_id").n_unique()
    yield dg.Output(
        seeds,
        metadata={
            **table_metadata(seeds, columns.SEED_QA, ["seed_id", "subject", "language", "question", "answer"]),
            "partitions": len(parts),
            "source": str(source),
            "files_read": loaded.files,
            "seed_cache": "hit" if loaded.cache_hit else "miss",
            "seed_files_parsed": len(loaded.parsed),
            "rows_rejected_all_files": loaded.rejects.height,
            "duplicates_skipped_all_files": loaded.duplicates,
            "benchmark_items_left_out": contaminated,
            "seeds_checked_against_benchmarks": checked,  # the others were checked by an earlier run
            "unmapped_subjects": len(other_subjects),
            "unmapped_subject_names": ", ".join(other_subjects[:50]) or "none",
        },
    )
    yield from written
    yield dg.AssetCheckResult(check_name=CHECK_UNIQUE_SEED_IDS, passed=duplicate_ids == 0,
                              metadata={"duplicate_ids": duplicate_ids})
    yield dg.AssetCheckResult(check_name=CHECK_SEEDS_PRESENT, passed=not empty,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"rows": seeds.height, "without_seeds": ", ".join(empty) or "none"})
