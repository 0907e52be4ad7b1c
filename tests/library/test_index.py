"""The FAISS index: kind chosen by size, exact vs ANN agreement, damaged files refused."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.library import index as I
from cxrviewer.library import index_files as F
from cxrviewer.library.errors import LibraryError


def _vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    v = centres[rng.integers(0, 20, n)] + 0.1 * rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_kind_follows_size_unless_asked():
    assert I.choose_kind(10) == "flat"
    assert I.choose_kind(I.EXACT_LIMIT - 1) == "flat"
    assert I.choose_kind(I.EXACT_LIMIT) == I.choose_kind(10_000_000) == "ivf-pq"
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


def test_saved_index_round_trips(tmp_path):
    v = _vectors(100)
    F.save_index(tmp_path, I.build_index(v, np.arange(100)), 1)
    second = F.save_index(tmp_path, I.build_index(v[:50], np.arange(50)), 2)
    loaded = F.load_index(tmp_path, second)
    assert loaded.count == 50
    assert loaded.search(v[:1], 1)[1][0, 0] == 0


def test_truncated_or_flipped_index_is_refused_with_its_name(tmp_path):
    info = F.save_index(tmp_path, I.build_index(_vectors(200), np.arange(200)), 1)
    path = tmp_path / info.file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError, match="damaged") as err:
        F.load_index(tmp_path, info)
    assert info.file in str(err.value)
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(LibraryError, match="SHA-256"):
        F.load_index(tmp_path, info)
    path.unlink()
    with pytest.raises(LibraryError, match="missing"):
        F.load_index(tmp_path, info)


# -- the kinds for large libraries, row ids, memory-mapped files -------------------------------


def _clustered(n: int, d: int = 64, seed: int = 3) -> np.ndarray:
    """Many tight clusters, as film embeddings are (the neighbours of a query are close calls)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 20, d))
    v = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind, goal", [("hnsw-sq", 0.97), ("ivf-pq", 0.97)])
def test_compact_kinds_agree_with_exact_search(kind, goal):
    """The compact kinds (float16 codes: hnsw-sq; 4-bit PQ + float16 refine: ivf-pq, chosen
    above EXACT_LIMIT), on a small library with settings scaled to it."""
    v = _clustered(8000)
    q = v[:100] + 0.02 * np.random.default_rng(4).normal(size=(100, v.shape[1])).astype(np.float32)
    _, want = I.build_index(v, np.arange(len(v)), "flat").search(q, 10)
    index = I.build_index(v, np.arange(len(v)), kind, {"pq_m": 16})
    _, got = index.search(q, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)]) >= goal
    assert index.params["nlist" if kind == "ivf-pq" else "ef_search"] > 0


@pytest.mark.parametrize("exact_limit", [0, I.EXACT_SUBSET_LIMIT])
@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw-sq", "ivf", "ivf-pq"])
def test_every_kind_returns_rows_and_filters_by_rows_when_rows_are_not_positions(kind, exact_limit, tmp_path,
                                                                                 monkeypatch):
    """Rows with gaps (cases without a vector) are kept by an IndexIDMap; a filter names rows,
    which are turned into positions, so the filtered search of every kind returns allowed rows
    only and as many as asked, searching them exactly or with faiss's selector. Saved and
    opened again, the same."""
    monkeypatch.setattr(I, "EXACT_SUBSET_LIMIT", exact_limit)
    v = _clustered(3000)
    rows = np.arange(3000) * 3 + 7
    index = I.build_index(v, rows, kind, {"pq_m": 16, "nlist": 16, "nprobe": 16})
    allowed = rows[::5]
    for loaded in (index, F.load_index(tmp_path, F.save_index(tmp_path, index, 1))):
        _, found = loaded.search(v[:3], 10)
        assert found[0, 0] == rows[0] and set(found.ravel()) <= set(rows.tolist())
        _, found = loaded.search(v[5:6], 10, allowed_rows=np.concatenate([allowed, [1, 2]]))
        assert set(found[0]) <= set(allowed.tolist()) and len(set(found[0])) == 10, kind


def test_a_narrow_filter_is_searched_exactly_and_returns_every_allowed_row():
    """HNSW told to skip all but 3 of 2,000 films missed some of them for each of 20 queries."""
    v = _vectors(2000)
    index = I.build_index(v, np.arange(2000), "hnsw", {"m": 16})
    scores, found = index.search(v[:20], 5, allowed_rows=np.array([50, 60, 70]))
    assert [set(f[:3]) for f in found] == [{50, 60, 70}] * 20 and (found[:, 3:] == -1).all()
    assert np.allclose(scores[0, :3], np.sort(v[[50, 60, 70]] @ v[0])[::-1], atol=1e-5)


def test_an_index_written_before_kinds_changed_still_opens(tmp_path):
    """Libraries built before wrap every index in an IndexIDMap2 (rows = ids)."""
    faiss = I._faiss()
    v = _vectors(300)
    old = faiss.IndexIDMap2(faiss.IndexHNSWFlat(v.shape[1], 16, faiss.METRIC_INNER_PRODUCT))
    old.add_with_ids(v, np.arange(300, dtype=np.int64) + 10)
    data = faiss.serialize_index(old).tobytes()
    (tmp_path / "index-000001.faiss").write_bytes(data)
    import hashlib

    from cxrviewer.library.manifest import IndexInfo

    info = IndexInfo("index-000001.faiss", "hnsw", hashlib.sha256(data).hexdigest(), 300, {})
    loaded = F.load_index(tmp_path, info)
    assert loaded.search(v[:1], 3)[1][0, 0] == 10
    assert set(loaded.search(v[:1], 3, allowed_rows=np.array([50, 60, 70]))[1][0]) == {50, 60, 70}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_an_index_is_opened_memory_mapped(tmp_path):
    info = F.save_index(tmp_path, I.build_index(_clustered(2000), np.arange(2000), "ivf-pq", {"pq_m": 16}), 1)
    index = F.load_index(tmp_path, info)
    assert str(tmp_path / info.file) in Path("/proc/self/maps").read_text()
    assert index.search(_clustered(2000)[:1], 1)[1][0, 0] == 0


def _written_a_while_ago(path: Path) -> None:
    past = time.time() - 60
    os.utime(path, (past, past))


def test_a_file_checked_once_is_not_hashed_again_until_it_changes(tmp_path, monkeypatch):
    """Hashing a multi-GB index on every open costs seconds: a file this account checked is
    remembered (size, time, inode, device) in the user cache, not in the library folder."""
    info = F.save_index(tmp_path, I.build_index(_vectors(200), np.arange(200)), 1)
    path = tmp_path / info.file
    _written_a_while_ago(path)
    hashed = []
    real = F._sha256_of
    monkeypatch.setattr(F, "_sha256_of", lambda p: hashed.append(p) or real(p))
    before = sorted(p.name for p in tmp_path.iterdir())
    F.load_index(tmp_path, info)
    F.load_index(tmp_path, info)
    assert len(hashed) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    F.load_index(tmp_path, info, always_hash=True)  # what library repair does
    assert len(hashed) == 2
    data = bytearray(path.read_bytes())  # the same size, another byte, a new time stamp
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    _written_a_while_ago(path)
    os.utime(path, (time.time() - 30, time.time() - 30))
    with pytest.raises(LibraryError, match="SHA-256"):
        F.load_index(tmp_path, info)


def test_a_file_changed_just_before_its_check_is_hashed_again(tmp_path, monkeypatch):
    """A rewrite within the file system's time stamp resolution may keep the time stamp: a
    file modified in the last RACY_SECONDS is not remembered (git's racily clean rule)."""
    info = F.save_index(tmp_path, I.build_index(_vectors(200), np.arange(200)), 1)
    hashed = []
    real = F._sha256_of
    monkeypatch.setattr(F, "_sha256_of", lambda p: hashed.append(p) or real(p))
    F.load_index(tmp_path, info)
    F.load_index(tmp_path, info)
    assert len(hashed) == 2
