"""The tests' in-memory data dirs (memory_fs.py): removed when done, kept for a failed test."""

from __future__ import annotations

from linksyn_dagster_tests import memory_fs


def test_a_memory_dir_is_removed_afterwards_and_copied_out_only_when_kept(tmp_path):
    with memory_fs.memory_dir("t", tmp_path / "passed") as path:
        (path / "run.db").write_text("rows")
        on_tmpfs = path.parent == memory_fs.MEMORY_FS
    if on_tmpfs:  # this machine has the tmpfs (/dev/shm) with room: the dir was there, and is gone
        assert not path.exists() and not (tmp_path / "passed").exists()
        with memory_fs.memory_dir("t", tmp_path / "failed", keep=lambda: True) as path:
            (path / "sub").mkdir()
            (path / "sub" / "run.db").write_text("rows")
        assert not path.exists()
        assert (tmp_path / "failed" / "sub" / "run.db").read_text() == "rows"
    else:
        assert path == tmp_path / "passed" and (path / "run.db").exists()


def test_without_a_usable_tmpfs_the_fallback_dir_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_fs, "MEMORY_FS", tmp_path / "no-such-tmpfs")
    with memory_fs.memory_dir("t", tmp_path / "fallback") as path:
        assert path == tmp_path / "fallback" and path.is_dir()
        (path / "run.db").write_text("rows")
    assert (path / "run.db").exists()  # pytest's own temp dir: kept, as pytest keeps it
