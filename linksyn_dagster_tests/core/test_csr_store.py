"""CSR graphs on disk, and the columns and key index the Neo4j transfer fills."""

from __future__ import annotations

import numpy as np
import pytest

from linksyn_dagster.core.csr_store import Column, KeyIndex, cache_file, load_csr, save_csr, stale_cache_files
from linksyn_dagster.core.walker import CSRGraph


def _graph() -> CSRGraph:
    ids = ["Krebs cycle", "ATP", "Schrödinger's cat", "量子", ""]
    return CSRGraph.from_edges(ids, [3, 1, 0, 7, 2], ["biology", "biology", "physics", "physics", "law"],
                               (["ATP", "量子", "Krebs cycle"], ["Krebs cycle", "Schrödinger's cat", ""], [2, 1, 5]))


def test_round_trip_without_pickle(tmp_path) -> None:
    graph = _graph()
    path = tmp_path / "sub" / "kp_graph-abc-f1.npz"
    size = save_csr(graph, path)
    assert size == path.stat().st_size > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    back = load_csr(path)
    assert back.node_ids.tolist() == graph.node_ids.tolist() and back.discipline_names == graph.discipline_names
    for name in ("indptr", "indices", "weights", "frequency", "discipline"):
        got, want = getattr(back, name), getattr(graph, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert all(data[k].dtype != object for k in data.files)


def test_unreadable_files_raise_value_error(tmp_path) -> None:
    path = tmp_path / "kp_graph-x-f1.npz"
    save_csr(_graph(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable cached KP graph"):
        load_csr(path)
    np.savez(path, indptr=np.zeros(1))
    with pytest.raises(ValueError, match="not a readable cached KP graph"):
        load_csr(path)


def test_cache_file_names(tmp_path) -> None:
    assert cache_file(tmp_path, "0123abcd") == tmp_path / "kp_graph-0123abcd-f1.npz"
    for version in ("", "unknown", "../../etc", "a b", "x" * 200):
        assert cache_file(tmp_path, version) is None
    keep = cache_file(tmp_path, "new")
    for name in ("kp_graph-old-f1.npz", "kp_graph-new-f0.npz", keep.name, ".kp_graph-new-f1.123.tmp", "other.npz"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in stale_cache_files(tmp_path, keep)] == ["kp_graph-new-f0.npz", "kp_graph-old-f1.npz"]


def test_column_preallocates_and_grows() -> None:
    exact = Column(np.int32, expected=5)
    exact.extend([1, 2])
    exact.extend(np.array([3, 4, 5]))
    assert exact.array().tolist() == [1, 2, 3, 4, 5]
    grown = Column(np.float32, expected=0)
    for k in range(40):
        grown.extend([k, k])
    assert grown.size == 80 and grown.array().tolist() == [float(k) for k in range(40) for _ in range(2)]
    assert Column(np.int64).array().size == 0


def test_key_index_maps_database_keys_to_positions() -> None:
    index = KeyIndex(np.array([907, 12, 55, 3000000000]))
    assert index.positions([12, 3000000000, 907, 907]).tolist() == [1, 3, 0, 0]
    assert index.positions([]).tolist() == []
    with pytest.raises(ValueError, match="2 edge endpoint"):
        index.positions([12, 13, 5000000000])
    with pytest.raises(ValueError, match="repeat"):
        KeyIndex(np.array([1, 2, 1]))
    with pytest.raises(ValueError):
        KeyIndex(np.array([], dtype=np.int64)).positions([1])
