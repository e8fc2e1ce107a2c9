"""Decontamination as the assets use it: the configured benchmark files loaded and indexed
once per process, hits written to ``decontamination_hits`` per stage and partition.

Two assets write that table, seed_qa (its seeds, per discipline) and linkqa_dataset (the
release items), so it is two assets (see ``defs/metadata.py``): ``decontamination_hits/seed_qa``
and ``decontamination_hits/linkqa_dataset``, each the rows its writer replaces (``stage`` is
the writer's name)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_dagster.core import decontam as decontam_module
from linksyn_dagster.core.decontam import (
    HIT_SCHEMA, BenchmarkIndex, BenchmarkSet, build_index, checked_against_benchmarks, load_benchmarks)
from linksyn_dagster.core.row_memo import entry_dir
from linksyn_dagster.core.seed_cache import seed_fingerprint
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import side_table_materialization, side_table_spec
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import DecontamSettings, ReleaseSettings

HITS = "decontamination_hits"
HIT_TABLE_SCHEMA = {"stage": pl.String(), "partition_key": pl.String(), **HIT_SCHEMA}
HIT_COLUMNS = list(HIT_TABLE_SCHEMA)
WHOLE = "all"  # partition_key of the hits of an unpartitioned writer

decontamination_hit_tables = [
    side_table_spec(
        [HITS, "seed_qa"], "The seeds of a discipline that are items of an evaluation set "
        "(LINKSYN_DECONTAM__BENCHMARK_PATHS), each with the benchmark item it matched: seed_qa leaves them out "
        "before they spread into KPs, paths and new QA. Written by seed_qa per partition (its rows of "
        "decontamination_hits: stage seed_qa).", columns.DECONTAMINATION_HITS, HIT_TABLE_SCHEMA,
        written_by="seed_qa", group_name="seeds", partitions_def=discipline_partitions),
    side_table_spec(
        [HITS, "linkqa_dataset"], "The verified items that overlap an evaluation set, each with the benchmark "
        "item it matched: linkqa_dataset leaves them out of the release (reason benchmark_contamination in "
        "dataset_drops). Written by linkqa_dataset (its rows of decontamination_hits: stage linkqa_dataset).",
        columns.DECONTAMINATION_HITS, HIT_TABLE_SCHEMA, written_by="linkqa_dataset", group_name="release",
        deps=[dg.AssetDep("verified_qa", partition_mapping=dg.AllPartitionMapping())]),
]


class BenchmarkUnusable(ValueError):
    """Benchmark files are configured but give nothing to check against."""


@lru_cache(maxsize=4)
def _indexed(paths: tuple[Path, ...], ngram_words: int, ngram_chars: int, min_overlap: float, threshold: float,
             num_perm: int) -> tuple[BenchmarkSet, BenchmarkIndex]:
    benchmarks = load_benchmarks(list(paths))
    if benchmarks.items.height == 0:
        reasons = benchmarks.rejects.get_column("reason").head(3).to_list() if benchmarks.rejects.height else []
        raise BenchmarkUnusable(
            f"LINKSYN_DECONTAM__BENCHMARK_PATHS gives no benchmark item to check against "
            f"({len(benchmarks.files)} file(s), {benchmarks.rejects.height} rejected row(s): {reasons})")
    index = build_index(benchmarks, ngram_words=ngram_words, ngram_chars=ngram_chars, min_overlap=min_overlap,
                        near_dup_threshold=threshold, num_perm=num_perm)
    return benchmarks, index


def benchmark_index(decontam: DecontamSettings, release: ReleaseSettings) -> tuple[BenchmarkSet, BenchmarkIndex] | None:
    """The configured benchmarks and their index; None when decontamination is off."""
    if not decontam.benchmark_paths:
        return None
    return _indexed(tuple(Path(p) for p in decontam.benchmark_paths), decontam.ngram_words, decontam.ngram_chars,
                    decontam.min_overlap, decontam.near_dup_threshold, release.near_dup_num_perm)


def record_hits(warehouse: WarehouseResource, stage: str, partition_key: str | None,
                hits: pl.DataFrame) -> dg.AssetMaterialization:
    """Replace the writer's (``stage``'s) hits of the partition (None: the writer is not
    partitioned) with ``hits``; returns the write as a materialization of its hits asset."""
    stored_key = partition_key or WHOLE
    rows = hits.with_columns(stage=pl.lit(stage), partition_key=pl.lit(stored_key)).select(HIT_COLUMNS)
    warehouse.replace(HITS, rows, stage=stage, partition_key=stored_key)
    return side_table_materialization([HITS, stage], rows, columns.DECONTAMINATION_HITS, partition=partition_key)


CHECKED_DIR = "decontaminated"  # under the seed cache: per benchmark fingerprint, per discipline


def benchmark_fingerprint(decontam: DecontamSettings, release: ReleaseSettings) -> str:
    """A key that changes whenever a seed's hits could: the benchmark files (as the seed
    cache keys its files: path, size, modification time), the decontamination settings, the
    code that finds hits, and polars (whose hash identifies a seed's text)."""
    digest = hashlib.sha256(seed_fingerprint(decontam.benchmark_paths, 0).encode())
    digest.update(repr((decontam.ngram_words, decontam.ngram_chars, decontam.min_overlap,
                        decontam.near_dup_threshold, release.near_dup_num_perm, pl.__version__)).encode())
    digest.update(Path(decontam_module.__file__).read_bytes())
    return digest.hexdigest()[:24]


def decontaminate_seeds(seeds: pl.DataFrame, index: BenchmarkIndex, fingerprint: str, cache_dir: Path,
                        discipline: str) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """``(kept, hits, checked_now)``: as ``core.decontam.decontaminate`` on a discipline's
    seeds, checking only the seeds this discipline's cache entry (under ``cache_dir``, for
    this benchmark ``fingerprint``) has not checked yet: a nightly increment checks its new
    seeds, not the corpus. A seed counts as checked by its id and a hash of its question,
    choices and answer; its hits are those the entry holds (``core/row_memo.py``). The entry
    is the partition's own (two disciplines never share one), so runs in any order or at once
    give the rows that checking everything gives: the hits in seed order, each seed's own in
    the order ``find_contamination`` gives them."""
    hits, checked_now = checked_against_benchmarks(seeds, index, "seed_id", entry_dir(cache_dir / CHECKED_DIR,
                                                                                     fingerprint), discipline)
    contaminated = hits.get_column("item_id").unique()
    return seeds.filter(~pl.col("seed_id").is_in(contaminated.implode())), hits, checked_now
