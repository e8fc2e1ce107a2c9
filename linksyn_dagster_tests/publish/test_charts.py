"""The report's charts are valid PNGs of the agreed size whose pixels depend on the data,
and empty input gives a "no data" chart instead of an error."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from linksyn_dagster.core.metrics import distribution_vs_target
from linksyn_dagster.publish.charts import (
    CHART_SIZE_PX,
    cost_chart,
    difficulty_chart,
    discipline_chart,
    kp_coverage_chart,
    kp_usage_chart,
    png_data_uri,
    png_markdown,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.verify()  # a well-formed PNG (CRCs, chunks)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == CHART_SIZE_PX
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _ink(pixels: np.ndarray) -> float:
    """Share of pixels that are not (near) white."""
    return float((pixels.min(axis=2) < 230).mean())


def _kps(n: int, skew: float) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    frequency = rng.zipf(2.0, n).clip(max=200)
    usage = rng.poisson(np.maximum(frequency, 1) ** skew)
    return pl.DataFrame({"kp_id": [f"k{i}" for i in range(n)], "frequency": frequency, "usage": usage})


def _items(disciplines: dict[str, list[int | None]]) -> pl.DataFrame:
    return pl.DataFrame([{"discipline": d, "difficulty": x} for d, xs in disciplines.items() for x in xs],
                        schema={"discipline": pl.String, "difficulty": pl.Int32})


# each chart: (renderer taking the data and a path, data A, data B that differs, empty data)
CHARTS: dict[str, tuple[Callable[[object, Path], Path], object, object, object]] = {
    "discipline": (
        discipline_chart,
        distribution_vs_target({"physics": 30, "law": 10, "biology": 25}, {"physics": 0.4, "law": 0.3, "biology": 0.3}),
        distribution_vs_target({"physics": 5, "law": 50, "biology": 5}, {"physics": 0.4, "law": 0.3, "biology": 0.3}),
        [],
    ),
    "difficulty": (
        difficulty_chart,
        _items({"physics": [1, 2, 3, 3, 4, 5, None], "law": [2, 2, 3]}),
        _items({"physics": [5, 5, 5, 5], "law": [1, 1, None], "history": [3]}),
        _items({}),
    ),
    "kp_usage": (kp_usage_chart, _kps(300, 1.0), _kps(300, 0.2), pl.DataFrame()),
    "kp_coverage": (
        lambda data, path: kp_coverage_chart(data, 200, path),
        [[f"k{(7 * i + j) % 200}" for j in range(4)] for i in range(60)],
        [[f"k{j}" for j in range(4)] for _ in range(60)],  # the same path again and again
        [],
    ),
    "cost": (
        cost_chart,
        pl.DataFrame({"discipline": ["physics", "law", "biology"], "tokens": [12000, 4000, 9000],
                      "cost_usd": [0.12, 0.05, 0.08]}),
        pl.DataFrame({"discipline": ["physics", "law"], "prompt_tokens": [100, 9000], "completion_tokens": [50, 30],
                      "cost_usd": [0.001, 0.2]}),
        pl.DataFrame(),
    ),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_is_a_valid_png_that_shows_the_data(tmp_path, name):
    render, data_a, data_b, empty = CHARTS[name]
    a = render(data_a, tmp_path / f"{name}_a.png")
    b = render(data_b, tmp_path / f"{name}_b.png")
    none = render(empty, tmp_path / f"{name}_empty.png")
    assert a == tmp_path / f"{name}_a.png" and a.read_bytes().startswith(PNG_MAGIC)
    assert 5_000 < a.stat().st_size < 150_000  # small enough to embed, big enough to hold a chart
    pixels_a, pixels_b, pixels_none = _pixels(a), _pixels(b), _pixels(none)
    assert _ink(pixels_a) > 0.01  # bars/points/lines, not a blank canvas
    assert len(np.unique(pixels_a.reshape(-1, 3), axis=0)) > 50
    # the picture depends on the data: another input draws other pixels
    assert (np.abs(pixels_a - pixels_b).max(axis=2) > 60).mean() > 0.005
    # empty input: a "no data" chart, with far less drawn than a real one
    assert _ink(pixels_none) < _ink(pixels_a) / 2
    assert not list(tmp_path.glob("*.tmp"))


def test_png_markdown_embeds_the_file(tmp_path):
    path = discipline_chart(CHARTS["discipline"][1], tmp_path / "d.png")
    uri = png_data_uri(path)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == path.read_bytes()
    markdown = png_markdown(path, "disciplines")
    assert markdown == f"![disciplines]({uri})"
    Image.open(io.BytesIO(path.read_bytes())).verify()


def test_charts_create_missing_directories(tmp_path):
    path = cost_chart(CHARTS["cost"][1], tmp_path / "reports" / "charts" / "cost.png")
    assert path.exists()
