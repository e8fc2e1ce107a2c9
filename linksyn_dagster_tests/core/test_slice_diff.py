"""plan_edit: the rows to delete and the tail to append that make a stored slice equal to a
new frame, row for row; None where only a rewrite can."""

import numpy as np
import polars as pl
import pytest

from linksyn_dagster.core.slice_diff import plan_edit


def _frame(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "tags": [[f"t{i}", "x"] for i in ids], "score": [i / 3 for i in ids]},
                        schema={"id": pl.Int64, "tags": pl.List(pl.Utf8), "score": pl.Float64})


def _apply(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    edit = plan_edit(stored, new)
    assert edit is not None
    keep = np.ones(stored.height, dtype=bool)
    keep[edit.delete] = False
    return pl.concat([stored.filter(pl.Series(keep)), new.slice(edit.append_from)])


@pytest.mark.parametrize("new_ids", [
    list(range(20)),  # unchanged: nothing deleted, nothing appended
    [i for i in range(20) if i not in (0, 7, 19)] + [100, 101],  # rows dropped anywhere, new ones at the end
    list(range(20)) + [5, 5],  # appended duplicates of kept rows
    list(range(15)),  # only deletions at the end
])
def test_the_edit_leaves_exactly_the_new_frame_in_its_order(new_ids):
    stored, new = _frame(list(range(20))), _frame(new_ids)
    edit = plan_edit(stored, new)
    assert edit is not None
    assert _apply(stored, new).equals(new)
    assert edit.delete.size == len(set(range(20)) - set(new_ids))


def test_an_unchanged_slice_is_an_empty_edit():
    edit = plan_edit(_frame(list(range(10))), _frame(list(range(10))))
    assert edit is not None and edit.delete.size == 0 and edit.append_from == 10


def test_a_changed_value_deletes_that_row_and_every_later_one_goes_to_the_tail():
    stored = _frame(list(range(30)))
    new = stored.with_columns(pl.when(pl.col("id") == 25).then(pl.lit(0.5)).otherwise(pl.col("score")).alias("score"))
    edit = plan_edit(stored, new)
    assert edit is not None and edit.delete.tolist() == list(range(25, 30)) and edit.append_from == 25
    assert _apply(stored, new).equals(new)


@pytest.mark.parametrize("stored, new", [
    (_frame(list(range(10))), _frame(list(range(10, 0, -1)))),  # reordered: more to move than to keep
    (_frame([]), _frame([1, 2])),  # nothing stored
    (_frame([1, 2]), _frame([])),  # nothing new
    (_frame([1, 2]), _frame([1, 2]).with_columns(pl.col("id").cast(pl.Int32))),  # another schema
    (_frame(list(range(10))), _frame([0, 1, 2, 50, 51, 52, 53, 54, 55, 56])),  # most rows changed
])
def test_where_rewriting_is_as_small_it_says_so(stored, new):
    assert plan_edit(stored, new) is None


def test_rows_equal_in_hash_but_not_in_value_are_never_kept(monkeypatch):
    stored, new = _frame([1, 2, 3]), _frame([1, 2, 4])
    monkeypatch.setattr(pl.DataFrame, "hash_rows", lambda self, seed=0: pl.Series([7] * self.height, dtype=pl.UInt64))
    assert plan_edit(stored, new) is None  # every hash collides: the exact comparison refuses the edit
