"""The distribution report on disk: ``<reports dir>/distribution_report.{md,json,html}`` and
the chart PNGs in ``charts/`` beside them (the HTML file is self-contained)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import polars as pl

from linksyn_dagster.core.metrics import distribution_vs_target
from linksyn_dagster.core.quality import flag_counts
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.publish.charts import (
    cost_chart, difficulty_chart, discipline_chart, kp_coverage_chart, kp_usage_chart,
)
from linksyn_dagster.publish.html_report import ReportSection, write_html_report
from linksyn_dagster.publish.report import ESTIMATE_TEXT, Report
from linksyn_dagster.publish.report_items import ItemToLookAt, items_html, items_markdown


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    charts: dict[str, Path]  # name -> PNG


def write_report_files(directory: Path, report: Report, dataset: pl.DataFrame, paths: pl.DataFrame,
                       kps: pl.DataFrame, discipline_target: Mapping[str, float],
                       usage_by_discipline: pl.DataFrame, items: Sequence[ItemToLookAt] = ()) -> ReportFiles:
    """Write ``report`` (from ``build_report``) and its charts of the release ``dataset``, the
    walked ``paths`` and the ``kps`` under ``directory``, with the ``items`` to look at
    (``report_items``) at the end of the markdown and HTML files."""
    directory.mkdir(parents=True, exist_ok=True)
    markdown = directory / "distribution_report.md"
    markdown.write_text(report.markdown.rstrip() + "\n\n" + items_markdown(items), encoding="utf-8")
    (directory / "distribution_report.json").write_text(json.dumps(report.summary, indent=2), encoding="utf-8")

    charts_dir = directory / "charts"
    per_discipline = dict(dataset.group_by("discipline").len().iter_rows()) if dataset.height else {}
    usage = (dict(paths.select(pl.col("kp_ids").explode().alias("kp_id")).group_by("kp_id").len().iter_rows())
             if paths.height else {})
    order = {d: i for i, d in enumerate(DISCIPLINES)}  # walks run in taxonomy order
    walked = paths.sort(pl.col("start_discipline").replace_strict(order, default=len(order)), "path_index")
    charts = {
        "disciplines": discipline_chart(distribution_vs_target(per_discipline, discipline_target),
                                        charts_dir / "disciplines.png"),
        "difficulty": difficulty_chart(dataset, charts_dir / "difficulty.png"),
        "kp_usage": kp_usage_chart(kps, charts_dir / "kp_usage.png", usage=usage),
        "kp_coverage": kp_coverage_chart(walked.get_column("kp_ids") if paths.height else [], kps.height,
                                         charts_dir / "kp_coverage.png"),
        "cost": cost_chart(usage_by_discipline, charts_dir / "cost.png"),
    }
    flags = (flag_counts(dataset.get_column("quality_flags")) if "quality_flags" in dataset.columns else {})
    html = write_html_report(directory / "distribution_report.html", "LinkSyn distribution report", [
        ReportSection("Disciplines vs target", image=charts["disciplines"], image_alt="disciplines"),
        ReportSection("Difficulty per discipline", image=charts["difficulty"], image_alt="difficulty"),
        ReportSection("Discipline × difficulty: target against released", table=report.cells),
        ReportSection("Verification and cleaning: items removed by reason",
                      table=[{"reason": k, "items": v} for k, v in sorted(report.drops.items())]),
        ReportSection("Estimate against actual", text=ESTIMATE_TEXT, table=report.estimate_vs_actual),
        ReportSection("KP usage vs popularity", image=charts["kp_usage"], image_alt="KP usage"),
        ReportSection("Cumulative KP coverage", image=charts["kp_coverage"], image_alt="KP coverage"),
        ReportSection("Tokens and cost per discipline", image=charts["cost"], image_alt="cost",
                      table=usage_by_discipline),
        ReportSection("Quality flags", table=[{"flag": k, "items": v} for k, v in sorted(flags.items())]),
        ReportSection("Items to look at", text="A few released items per discipline, spread over the levels "
                      "judged, each with the KP chain it was walked from, its source seeds (file:line), the "
                      "difficulty judged and the verifier's verdict.", fragment=items_html(items)),
    ], summary=report.summary)
    return ReportFiles(markdown=markdown, html=html, charts=charts)
