"""Decontamination as the assets use it: the configured benchmark files loaded and indexed
once per process, hits written to ``decontamination_hits`` per stage and partition."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from linksyn_dagster.core.decontam import HIT_SCHEMA, BenchmarkIndex, BenchmarkSet, build_index, load_benchmarks
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.settings import DecontamSettings, ReleaseSettings

HIT_COLUMNS = ["stage", "partition_key", *HIT_SCHEMA]


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


def record_hits(warehouse: WarehouseResource, stage: str, partition_key: str, hits: pl.DataFrame) -> None:
    rows = hits.with_columns(stage=pl.lit(stage), partition_key=pl.lit(partition_key)).select(HIT_COLUMNS)
    warehouse.replace("decontamination_hits", rows, stage=stage, partition_key=partition_key)
