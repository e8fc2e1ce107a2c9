"""The seed-parse cache: each seed file parsed once, one streamed table per content of the seed
directory, read per discipline."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from linksyn_dagster.core import seed_cache
from linksyn_dagster.core.seed_cache import cached_seed_load, seed_fingerprint
from linksyn_dagster.core.seeds import demo_seed_dir, list_seed_files, load_seed_files


def _seed_dir(tmp_path: Path) -> Path:
    source = tmp_path / "seeds"
    source.mkdir()
    rows = [{"question": f"What is {i} plus {i}?", "choices": [str(2 * i), "1", "0", "7"], "answer": "A",
             "discipline": "mathematics" if i % 2 else "physics"} for i in range(10)]
    rows.append({"question": "broken", "answer": "Z", "choices": ["a", "b"]})  # a reject
    rows.append(rows[0])  # a duplicate
    (source / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return source


def test_first_load_parses_then_every_load_reads_the_cache(tmp_path: Path, monkeypatch) -> None:
    source, cache = _seed_dir(tmp_path), tmp_path / "cache"
    parses = []
    real = seed_cache.load_seed_file
    monkeypatch.setattr(seed_cache, "load_seed_file", lambda *a, **k: parses.append(1) or real(*a, **k))

    first = cached_seed_load(source, 20_000, cache)
    second = cached_seed_load(source, 20_000, cache)
    assert (first.cache_hit, second.cache_hit, len(parses)) == (False, True, 1)

    direct = load_seed_files(source, max_field_chars=20_000)
    for load in (first, second):
        assert_frame_equal(load.seeds(), direct.seeds)
        assert_frame_equal(load.rejects, direct.rejects)
        assert (load.duplicates, load.files) == (direct.duplicates, direct.files) == (1, 1)
        assert_frame_equal(load.seeds("physics"), direct.seeds.filter(pl.col("discipline") == "physics"))
    assert load.seeds("chemistry").height == 0


def test_a_changed_file_or_limit_is_parsed_again_and_the_old_parse_removed(tmp_path: Path) -> None:
    source, cache = _seed_dir(tmp_path), tmp_path / "cache"
    before = cached_seed_load(source, 20_000, cache)
    rows_before = before.seeds().height
    with open(source / "a.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"question": "What is new here?", "answer": "yes", "discipline": "physics"}) + "\n")
    os.utime(source / "a.jsonl", ns=(1, 1))  # even with an mtime from the past: the size changed
    after = cached_seed_load(source, 20_000, cache)
    assert not after.cache_hit and after.seeds().height == rows_before + 1
    assert not before.path.exists()  # the stale parse is gone
    assert not cached_seed_load(source, 50, cache).cache_hit  # the length limit changes the parse
    assert seed_fingerprint(source, 50) != seed_fingerprint(source, 20_000)


def test_runs_starting_together_parse_once(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    parses = []
    real = seed_cache.load_seed_file
    monkeypatch.setattr(seed_cache, "load_seed_file", lambda *a, **k: parses.append(a[0]) or real(*a, **k))
    results = []
    threads = [threading.Thread(target=lambda: results.append(cached_seed_load(demo_seed_dir(), 20_000, cache)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(parses) == list_seed_files(demo_seed_dir()) and len(results) == 4  # each file once
    assert {r.seeds().height for r in results} == {load_seed_files(demo_seed_dir()).seeds.height}


def _assert_same_load(load, direct) -> None:
    assert_frame_equal(load.seeds(), direct.seeds)
    assert_frame_equal(load.rejects, direct.rejects)
    assert (load.duplicates, load.files) == (direct.duplicates, direct.files)


def test_an_increment_parses_only_the_new_or_changed_file_and_equals_a_fresh_parse(tmp_path: Path) -> None:
    source, cache = _seed_dir(tmp_path), tmp_path / "cache"
    assert [Path(p).name for p in cached_seed_load(source, 20_000, cache).parsed] == ["a.jsonl"]
    # a second file, sorted first so the ids it shares with a.jsonl now belong to it: one
    # seed of a.jsonl again (a duplicate across files, first occurrence wins), one new, one reject
    shared = json.loads((source / "a.jsonl").read_text(encoding="utf-8").splitlines()[3])
    shared["discipline"] = "chemistry"  # same seed_id (question, choices, answer): the first file's row wins
    rows = [shared, {"question": "What is the pH of pure water?", "answer": "7", "discipline": "chemistry"},
            {"question": "", "answer": "x"}]
    (source / "0-new.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    after = cached_seed_load(source, 20_000, cache)
    assert [Path(p).name for p in after.parsed] == ["0-new.jsonl"]
    direct = load_seed_files(source, max_field_chars=20_000)
    _assert_same_load(after, direct)
    assert (direct.duplicates, direct.files, direct.rejects.height) == (2, 2, 2)
    moved = after.seeds().filter(pl.col("question") == shared["question"])
    assert moved.select("discipline", "source_file").rows() == [("chemistry", str(source / "0-new.jsonl"))]
    _assert_same_load(cached_seed_load(source, 20_000, tmp_path / "fresh"), direct)  # a fresh cache: the same

    # a changed file is parsed again, the unchanged one read back; its stale entry is removed
    with open(source / "a.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"question": "What is new here?", "answer": "yes", "discipline": "physics"}) + "\n")
    entries = set((cache / seed_cache.FILES_DIR).iterdir())
    changed = cached_seed_load(source, 20_000, cache)
    assert [Path(p).name for p in changed.parsed] == ["a.jsonl"]
    _assert_same_load(changed, load_seed_files(source, max_field_chars=20_000))
    assert len(entries - set((cache / seed_cache.FILES_DIR).iterdir())) == 3  # a.jsonl's old seeds, rejects, meta

    (source / "0-new.jsonl").unlink()  # a removed file: nothing to parse, its rows are gone
    removed = cached_seed_load(source, 20_000, cache)
    assert removed.parsed == () and not removed.cache_hit
    _assert_same_load(removed, load_seed_files(source, max_field_chars=20_000))
