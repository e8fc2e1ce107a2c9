"""The preview every table asset's page shows: a markdown table short enough for the Dagster
UI to render in place (it hides markdown of 1,000 characters or more behind a button)."""

import polars as pl

from linksyn_dagster.defs.metadata import INLINE_MARKDOWN_LIMIT, preview_markdown


def test_a_preview_of_long_rows_drops_rows_to_stay_inline():
    names = ["恢复金本位制度 废除银行系统 加强国家对经济的干预 完全放任自由市场" * 3] * 5
    frame = pl.DataFrame({"path_id": [f"p{i}" for i in range(5)], "kp_names": names, "seed_ids": names,
                          "disciplines": names, "note": names})
    text = preview_markdown(frame)
    assert len(text.encode("utf-16-le")) // 2 < INLINE_MARKDOWN_LIMIT
    rows = text.splitlines()[2:]
    assert 1 <= len(rows) < 5 and rows[0].startswith("| p0 |")


def test_a_short_preview_keeps_its_rows_and_an_empty_frame_says_so():
    frame = pl.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": ["x|y"] * 6})
    text = preview_markdown(frame)
    assert len(text.splitlines()) == 2 + 5 and "x\\|y" in text
    assert preview_markdown(frame.clear()) == "_(no rows)_"


def test_one_row_is_kept_even_when_it_alone_is_too_long():
    frame = pl.DataFrame({f"c{i}": ["w" * 200] for i in range(8)})
    assert len(preview_markdown(frame).splitlines()) == 3
