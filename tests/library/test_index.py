"""The FAISS index: kind chosen by size, exact vs ANN agreement, damaged files refused."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.library import index as I
from cxrviewer.library.errors import LibraryError


def _vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    v = centres[rng.integers(0, 20, n)] + 0.1 * rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_kind_follows_size_unless_asked():
    assert I.choose_kind(10) == "flat"
    assert I.choose_kind(I.EXACT_LIMIT) == "hnsw"
    assert I.choose_kind(10, "ivf") == "ivf"
    with pytest.raises(ValueError):
        I.choose_kind(10, "pq")


def test_flat_search_returns_rows_not_positions_and_matches_numpy():
    v = _vectors(500)
    rows = np.arange(1000, 1500)
    idx = I.build_index(v, rows, "flat")
    scores, found = idx.search(v[:3], 5)
    expected = np.argsort(-(v[:3] @ v.T), axis=1)[:, :5] + 1000
    assert np.array_equal(found, expected)
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_ann_kinds_agree_with_exact_search(kind):
    v = _vectors(3000, seed=1)
    rows = np.arange(3000)
    exact = I.build_index(v, rows, "flat")
    approx = I.build_index(v, rows, kind, {"nlist": 16, "nprobe": 8})
    # Queries near the data (as a film near others of its kind), not from unrelated clusters.
    q = v[:50] + 0.05 * np.random.default_rng(2).normal(size=(50, v.shape[1])).astype(np.float32)
    _, want = exact.search(q, 10)
    _, got = approx.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)])
    assert recall >= 0.95


def test_filter_restricts_to_allowed_rows():
    v = _vectors(400)
    idx = I.build_index(v, np.arange(400), "hnsw")
    allowed = np.arange(0, 400, 7)
    _, found = idx.search(v[3:4], 10, allowed_rows=allowed)
    assert set(found[0]) <= set(allowed.tolist())
    assert len(set(found[0])) == 10


def test_saved_index_round_trips_and_old_generations_are_removed(tmp_path):
    v = _vectors(100)
    first = I.save_index(tmp_path, I.build_index(v, np.arange(100)), 1)
    second = I.save_index(tmp_path, I.build_index(v[:50], np.arange(50)), 2)
    I.remove_stale(tmp_path, second.file)
    assert not (tmp_path / first.file).exists()
    loaded = I.load_index(tmp_path, second)
    assert loaded.count == 50
    assert loaded.search(v[:1], 1)[1][0, 0] == 0


def test_truncated_or_flipped_index_is_refused_with_its_name(tmp_path):
    info = I.save_index(tmp_path, I.build_index(_vectors(200), np.arange(200)), 1)
    path = tmp_path / info.file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError, match="damaged") as err:
        I.load_index(tmp_path, info)
    assert info.file in str(err.value)
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(LibraryError, match="SHA-256"):
        I.load_index(tmp_path, info)
    path.unlink()
    with pytest.raises(LibraryError, match="missing"):
        I.load_index(tmp_path, info)
