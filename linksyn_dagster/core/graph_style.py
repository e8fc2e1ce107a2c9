"""How the KP graph looks in Neo4j Browser: the labels the loader gives each KP node and the
Browser style (GRASS) that draws them.

Browser styles nodes per label only (no rule reads a property), so what a style should show
is written as labels beside ``KnowledgePoint``: the KP's primary discipline (``Physics``,
``ComputerScience``...: the colour) and its frequency band (``Freq1``, ``Freq4``, ``Freq16``...:
the diameter; band ``FreqN`` holds frequencies from N to 4N - 1, the last one everything
above). The caption is the KP's name, and a ``CO_OCCURS`` edge shows its weight as its caption:
Browser sizes relationships per type only, so the width cannot follow the weight.

``STYLE_VERSION`` names this labelling: a graph labelled another way is loaded again whole.

Pure Python: the loader (``resources/graph_loader.py``) writes the labels, the local server
(``services/neo4j_server.py``) hands the style to Browser after it connects.
"""

from __future__ import annotations

import colorsys
import hashlib
import json

import polars as pl

from linksyn_dagster.core.taxonomy import DISCIPLINES

__all__ = ["BAND_LABELS", "FREQUENCY_BANDS", "STYLE_VERSION", "band_label", "band_labels", "discipline_label",
           "discipline_labels", "grass", "style_command"]

# lower bounds of the frequency bands, a factor of 4 apart
FREQUENCY_BANDS = (1, 4, 16, 64, 256, 1024, 4096)
BAND_LABELS = tuple(f"Freq{low}" for low in FREQUENCY_BANDS)
_DIAMETERS = tuple(30 + 10 * i for i in range(len(FREQUENCY_BANDS)))  # px, 30 .. 90


def discipline_label(discipline: str) -> str:
    """``computer_science`` -> ``ComputerScience``."""
    return "".join(part.capitalize() for part in discipline.split("_"))


def band_label(frequency: int) -> str:
    """The label of the band holding ``frequency`` (below 1 counts as band 1)."""
    band = 0
    for i, low in enumerate(FREQUENCY_BANDS):
        if frequency >= low:
            band = i
    return BAND_LABELS[band]


def band_labels(frequency: pl.Expr) -> pl.Expr:
    """:func:`band_label` as a polars expression."""
    expr = pl.lit(BAND_LABELS[0])
    for low, label in zip(FREQUENCY_BANDS[1:], BAND_LABELS[1:]):
        expr = pl.when(frequency >= low).then(pl.lit(label)).otherwise(expr)
    return expr


def discipline_labels(discipline: pl.Expr) -> pl.Expr:
    """:func:`discipline_label` as a polars expression."""
    return discipline.str.split("_").list.eval(pl.element().str.to_titlecase()).list.join("")


def _colours() -> dict[str, tuple[str, str, str]]:
    """(fill, border, text) per discipline: hues spread evenly round the colour wheel,
    neighbours alternating between a lighter and a darker shade so they stay apart."""
    colours = {}
    for i, discipline in enumerate(DISCIPLINES):
        hue = i / len(DISCIPLINES)
        light = 0.62 if i % 2 == 0 else 0.45
        fill = colorsys.hls_to_rgb(hue, light, 0.65)
        border = colorsys.hls_to_rgb(hue, light - 0.15, 0.65)
        text = "#2A2C34" if light > 0.5 else "#FFFFFF"
        colours[discipline] = ("#%02X%02X%02X" % tuple(round(c * 255) for c in fill),
                               "#%02X%02X%02X" % tuple(round(c * 255) for c in border), text)
    return colours


def grass() -> dict[str, dict[str, str]]:
    """The Browser style, as the JSON form of a GRASS sheet (selector -> properties). Later
    rules win, so the discipline colours and band diameters override the KP defaults."""
    sheet = {
        "node": {"diameter": "50px", "color": "#A5ABB6", "border-color": "#9AA1AC", "border-width": "2px",
                 "text-color-internal": "#FFFFFF", "font-size": "10px"},
        "relationship": {"color": "#A5ABB6", "shaft-width": "1px", "font-size": "8px", "padding": "3px",
                         "text-color-external": "#000000", "text-color-internal": "#FFFFFF", "caption": "<type>"},
        "node.KnowledgePoint": {"caption": "{name}", "diameter": f"{_DIAMETERS[0]}px"},
        "node.Seed": {"caption": "{question}", "color": "#D9C8AE", "border-color": "#C0A378",
                      "text-color-internal": "#2A2C34", "diameter": "25px"},
        "node.Discipline": {"caption": "{display_name}", "color": "#604A0E", "border-color": "#423204",
                            "text-color-internal": "#FFFFFF", "diameter": "80px"},
        "relationship.CO_OCCURS": {"caption": "{weight}", "shaft-width": "2px"},
    }
    for discipline, (fill, border, text) in _colours().items():
        sheet[f"node.{discipline_label(discipline)}"] = {"color": fill, "border-color": border,
                                                         "text-color-internal": text}
    for label, diameter in zip(BAND_LABELS, _DIAMETERS):
        sheet[f"node.{label}"] = {"diameter": f"{diameter}px"}
    return sheet


def style_command() -> str:
    """``style <sheet>``, a Browser command (given without its colon, as in
    ``browser.post_connect_cmd``). The sheet is JSON, which Browser reads as GRASS
    (``browser_guide.post_connect_command`` refuses a command holding a ``;``)."""
    return f"style {json.dumps(grass(), separators=(',', ':'))}"


STYLE_VERSION = hashlib.sha256(json.dumps([FREQUENCY_BANDS, [discipline_label(d) for d in DISCIPLINES]])
                               .encode()).hexdigest()[:12]
