"""The distribution report's charts, as small PNG files (matplotlib, no display needed).

Every renderer takes plain polars frames / mappings and the PNG path, writes a 900x500 px
chart and returns the path. Empty input renders a chart that says "no data" instead of
failing, so a report of an empty release still has all its pictures.
:func:`png_markdown` turns a PNG into a markdown image with a data URI, the form the
Dagster UI renders inline in asset metadata.

Figures are built with the object-oriented API (``Figure`` + Agg canvas), never pyplot:
no global state, nothing opens a window, safe in Dagster's worker processes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "CHART_DPI",
    "CHART_SIZE_PX",
    "cost_chart",
    "difficulty_chart",
    "discipline_chart",
    "kp_coverage_chart",
    "kp_usage_chart",
    "png_data_uri",
    "png_markdown",
]

CHART_SIZE_PX = (900, 500)
CHART_DPI = 100
_ACTUAL = "#3b6ea8"
_TARGET = "#c8c8c8"
_SECOND = "#d9822b"
_DIFFICULTY_COLORS = {"1": "#cfe3f3", "2": "#9ec8e8", "3": "#5f9fd1", "4": "#2f6ea8", "5": "#173f6b",
                      "unjudged": "#bdbdbd"}


def _figure() -> Figure:
    fig = Figure(figsize=(CHART_SIZE_PX[0] / CHART_DPI, CHART_SIZE_PX[1] / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # fixed size (no bbox_inches="tight"): every chart is exactly CHART_SIZE_PX
    fig.savefig(tmp, format="png", dpi=CHART_DPI, metadata={"Software": None})
    tmp.replace(path)
    return path


def _no_data(title: str, path: Path | str) -> Path:
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=20, color="#777777", transform=ax.transAxes)
    return _save(fig, path)


def _title_and_legend(ax: Any, title: str, handles: list[Any]) -> None:
    # title on the left, legend on the right, both above the plot: never over a bar
    ax.set_title(title, loc="left")
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(handles), frameon=False,
              fontsize=8)


def _plain(value: float, _: Any) -> str:
    return f"{value:g}"


def _rows(data: pl.DataFrame | Sequence[Mapping[str, Any]] | None) -> pl.DataFrame:
    if data is None:
        return pl.DataFrame()
    if isinstance(data, pl.DataFrame):
        return data
    return pl.DataFrame(list(data)) if data else pl.DataFrame()


def discipline_chart(rows: pl.DataFrame | Sequence[Mapping[str, Any]], path: Path | str,
                     title: str = "Items per discipline vs target") -> Path:
    """Horizontal bars: each discipline's share of items next to its target share.

    ``rows``: ``key`` (discipline), ``share`` and ``target_share`` — the rows of
    :func:`linksyn_dagster.core.metrics.distribution_vs_target`; ``count`` is printed if given.
    """
    df = _rows(rows)
    if df.is_empty() or not {"key", "share", "target_share"} <= set(df.columns):
        return _no_data(title, path)
    df = df.sort("key", descending=True)  # first key at the top
    keys = df.get_column("key").cast(pl.String).to_list()
    y = np.arange(len(keys))
    fig = _figure()
    ax = fig.add_subplot()
    ax.barh(y + 0.2, df.get_column("target_share").to_numpy(), height=0.4, color=_TARGET, label="target")
    bars = ax.barh(y - 0.2, df.get_column("share").to_numpy(), height=0.4, color=_ACTUAL, label="actual")
    if "count" in df.columns:
        ax.bar_label(bars, labels=[str(c) for c in df.get_column("count").to_list()], padding=2, fontsize=7)
    ax.set_yticks(y, keys, fontsize=8 if len(keys) <= 25 else 6)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of items")
    _title_and_legend(ax, title, ax.get_legend_handles_labels()[0][::-1])
    fig.tight_layout()
    return _save(fig, path)


def difficulty_chart(items: pl.DataFrame, path: Path | str, discipline_col: str = "discipline",
                     difficulty_col: str = "difficulty", title: str = "Difficulty per discipline") -> Path:
    """Stacked horizontal bars: the difficulty mix (1–5, unjudged) of every discipline.

    ``items``: one row per item with ``discipline_col`` and ``difficulty_col`` (null =
    unjudged), or already counted with a ``count`` column.
    """
    if items.is_empty() or not {discipline_col, difficulty_col} <= set(items.columns):
        return _no_data(title, path)
    level = pl.col(difficulty_col).cast(pl.String).fill_null("unjudged").alias("level")
    weight = pl.col("count").sum() if "count" in items.columns else pl.len()
    counts = items.group_by(pl.col(discipline_col).cast(pl.String).alias("discipline"), level).agg(weight.alias("n"))
    table = counts.pivot(on="level", index="discipline", values="n").fill_null(0).sort("discipline", descending=True)
    levels = sorted((c for c in table.columns if c != "discipline"), key=lambda v: (v == "unjudged", v))
    totals = table.select(pl.sum_horizontal(levels)).to_series().to_numpy().astype(float)
    totals[totals == 0] = 1.0
    y = np.arange(table.height)
    fig = _figure()
    ax = fig.add_subplot()
    left = np.zeros(table.height)
    for lvl in levels:
        share = table.get_column(lvl).to_numpy() / totals
        ax.barh(y, share, left=left, color=_DIFFICULTY_COLORS.get(lvl, "#999999"), label=lvl, height=0.7)
        left += share
    ax.set_yticks(y, table.get_column("discipline").to_list(), fontsize=8 if table.height <= 25 else 6)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of the discipline's items")
    ax.set_title(title)
    ax.legend(title="difficulty", loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def kp_usage_chart(knowledge_points: pl.DataFrame, path: Path | str, usage: Mapping[str, int] | None = None,
                   frequency_col: str = "frequency", usage_col: str = "usage",
                   title: str = "KP usage on paths vs KP popularity") -> Path:
    """Scatter: every KP's popularity (seed frequency) against how often paths used it.

    ``knowledge_points``: ``kp_id`` and ``frequency_col``, plus ``usage_col`` unless
    ``usage`` (kp_id → paths through it) is given; KPs without usage count 0.
    """
    if knowledge_points.is_empty() or frequency_col not in knowledge_points.columns:
        return _no_data(title, path)
    if usage is not None:
        used = knowledge_points.get_column("kp_id").replace_strict(dict(usage), default=0, return_dtype=pl.Int64)
    elif usage_col in knowledge_points.columns:
        used = knowledge_points.get_column(usage_col).fill_null(0)
    else:
        return _no_data(title, path)
    x = knowledge_points.get_column(frequency_col).fill_null(0).to_numpy().astype(float)
    y = used.to_numpy().astype(float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(x, y, s=14, alpha=0.35, color=_ACTUAL, edgecolors="none", label="KP")
    # mean usage per popularity bucket (powers of two): balance shows as a flat line,
    # a popularity bias as a rising one
    bucket = np.floor(np.log2(x + 1.0))
    levels = (pl.DataFrame({"b": bucket, "x": x, "y": y}).group_by("b")
              .agg(pl.col("x").median(), pl.col("y").mean()).sort("b"))
    ax.plot(levels.get_column("x").to_numpy(), levels.get_column("y").to_numpy(), color=_SECOND, linewidth=2,
            marker="o", markersize=4, label="mean per popularity bucket")
    if x.max() > 20:
        ax.set_xscale("symlog", linthresh=1)
    if y.max() > 20:
        ax.set_yscale("symlog", linthresh=1)
    ax.xaxis.set_major_formatter(_plain)
    ax.yaxis.set_major_formatter(_plain)
    ax.set_xlabel("popularity (seeds mentioning the KP)")
    ax.set_ylabel("paths through the KP")
    ax.grid(alpha=0.3)
    unused = int((y == 0).sum())
    _title_and_legend(ax, f"{title} ({x.size} KPs, {unused} unused)", ax.get_legend_handles_labels()[0])
    fig.tight_layout()
    return _save(fig, path)


def kp_coverage_chart(path_kp_ids: pl.Series | Iterable[Sequence[str]], total_kps: int, path: Path | str,
                      title: str = "Cumulative KP coverage") -> Path:
    """Line: share of all KPs on at least one path, against the number of paths taken
    (in the given order, e.g. by ``path_index``)."""
    paths = path_kp_ids.to_list() if isinstance(path_kp_ids, pl.Series) else list(path_kp_ids)
    if not paths or total_kps <= 0:
        return _no_data(title, path)
    seen: set[str] = set()
    covered = np.empty(len(paths), dtype=float)
    for i, kps in enumerate(paths):
        seen.update(kps or [])
        covered[i] = len(seen)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(paths) + 1), covered / total_kps, color=_ACTUAL, linewidth=2)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("paths")
    ax.set_ylabel(f"KPs covered (of {total_kps})")
    ax.set_title(f"{title}: {covered[-1] / total_kps:.1%} after {len(paths)} paths")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def cost_chart(usage_by_discipline: pl.DataFrame, path: Path | str,
               title: str = "Tokens and cost per discipline") -> Path:
    """Paired bars per discipline: tokens (left axis) and cost in USD (right axis).

    ``usage_by_discipline``: ``discipline``, ``tokens`` (or prompt/completion/reasoning
    tokens, summed) and ``cost_usd``.
    """
    df = usage_by_discipline
    if df.is_empty() or "discipline" not in df.columns:
        return _no_data(title, path)
    if "tokens" not in df.columns:
        parts = [c for c in ("prompt_tokens", "completion_tokens", "reasoning_tokens") if c in df.columns]
        if not parts:
            return _no_data(title, path)
        df = df.with_columns(tokens=pl.sum_horizontal(parts))
    if "cost_usd" not in df.columns:
        df = df.with_columns(cost_usd=pl.lit(0.0))
    df = df.sort("discipline")
    x = np.arange(df.height)
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(x - 0.2, df.get_column("tokens").fill_null(0).to_numpy(), width=0.4, color=_ACTUAL, label="tokens")
    ax.set_ylabel("tokens")
    ax2 = ax.twinx()
    ax2.bar(x + 0.2, df.get_column("cost_usd").fill_null(0.0).to_numpy(), width=0.4, color=_SECOND, label="cost (USD)")
    ax2.set_ylabel("cost (USD)")
    ax.set_xticks(x, df.get_column("discipline").to_list(), rotation=45, ha="right", fontsize=8)
    _title_and_legend(ax, title, ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0])
    fig.tight_layout()
    return _save(fig, path)


def png_data_uri(path: Path | str) -> str:
    """``data:image/png;base64,...`` of a PNG file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def png_markdown(path: Path | str, alt: str = "chart") -> str:
    """A markdown image of the PNG as a data URI (Dagster renders it in asset metadata)."""
    return f"![{alt}]({png_data_uri(path)})"
