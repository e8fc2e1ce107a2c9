"""The KP labels and the Neo4j Browser style drawn by them agree, and the style reaches
Browser whole through ``browser.post_connect_cmd``."""

from __future__ import annotations

import json

import polars as pl

from linksyn_dagster.core.graph_style import (BAND_LABELS, FREQUENCY_BANDS, band_label, band_labels,
                                              discipline_label, discipline_labels, grass, style_command)
from linksyn_dagster.core.taxonomy import DISCIPLINES


def test_band_labels_follow_the_band_bounds() -> None:
    frequencies = [0, 1, 3, 4, 15, 16, 63, 64, 4095, 4096, 10**9]
    expected = ["Freq1", "Freq1", "Freq1", "Freq4", "Freq4", "Freq16", "Freq16", "Freq64", "Freq1024", "Freq4096",
                "Freq4096"]
    assert [band_label(f) for f in frequencies] == expected
    frame = pl.DataFrame({"frequency": frequencies})
    assert frame.select(band_labels(pl.col("frequency"))).to_series().to_list() == expected


def test_discipline_labels_are_distinct_pascal_case() -> None:
    assert discipline_label("computer_science") == "ComputerScience"
    labels = pl.DataFrame({"d": DISCIPLINES}).select(discipline_labels(pl.col("d"))).to_series().to_list()
    assert labels == [discipline_label(d) for d in DISCIPLINES]
    assert len(set(labels)) == len(DISCIPLINES)
    assert not set(labels) & {"KnowledgePoint", "Seed", "Discipline", "GraphMeta", *BAND_LABELS}


def test_the_style_colours_each_discipline_and_sizes_each_band() -> None:
    sheet = grass()
    assert sheet["node.KnowledgePoint"]["caption"] == "{name}"
    colours = [sheet[f"node.{discipline_label(d)}"]["color"] for d in DISCIPLINES]
    assert len(set(colours)) == len(DISCIPLINES)
    diameters = [int(sheet[f"node.{label}"]["diameter"].removesuffix("px")) for label in BAND_LABELS]
    assert diameters == sorted(set(diameters)) and len(diameters) == len(FREQUENCY_BANDS)
    # later rules win in Browser: band and discipline rules come after the KnowledgePoint rule
    order = list(sheet)
    assert order.index("node.KnowledgePoint") < min(order.index(f"node.{label}") for label in BAND_LABELS)


def test_the_style_command_is_one_post_connect_command() -> None:
    command = style_command()
    assert command.startswith("style {") and ";" not in command
    assert json.loads(command.removeprefix("style ")) == grass()
