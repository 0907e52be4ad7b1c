"""The FAISS index of an embedding route: choosing its kind, writing it safely, opening it checked.

Measured here (design.md): an exact inner-product scan costs 36 ms per query at 224k x 512, so
above ``EXACT_LIMIT`` vectors the index is HNSW (0.09 ms at recall@10 0.9995). faiss's own file
functions use narrow-char paths on Windows and no checksum, so the index is serialised to bytes
and written by Python under a versioned name, with its SHA-256 kept in the manifest: a
truncated file fails to load and a flipped byte fails the hash, both with the file's name.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.fileio import atomic_write_bytes
from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice
from cxrviewer.library.manifest import MANIFEST_NAME, IndexInfo, is_plain_file_name

EXACT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128  # 40 gave recall@10 0.92 at efSearch 64 on 224k clustered vectors; 128 gives 1.0
HNSW_EF_SEARCH = 64
KINDS = ("auto", "flat", "hnsw", "ivf")


def _openblas_core() -> str | None:
    """The OpenBLAS kernel this CPU can run: the wheel's OpenBLAS mis-detects these CPUs as an
    old core, and the right kernel made batched search 3x faster (design.md)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return None
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags:
        return "Haswell"
    return None


def _faiss() -> Any:
    if "faiss" not in sys.modules and "OPENBLAS_CORETYPE" not in os.environ:
        core = _openblas_core()
        if core:
            os.environ["OPENBLAS_CORETYPE"] = core
    import faiss

    # faiss only uses BLAS for nq*d >= 128,000 by default, which makes batched exact search
    # several times slower than it needs to be (design.md).
    faiss.cvar.distance_compute_blas_threshold = 1
    return faiss


def choose_kind(count: int, requested: str = "auto") -> str:
    if requested not in KINDS:
        raise ValueError(f"index kind must be one of {', '.join(KINDS)}")
    if requested != "auto":
        return requested
    return "flat" if count < EXACT_LIMIT else "hnsw"


@dataclass
class VectorIndex:
    """A loaded FAISS index whose ids are library rows."""

    index: Any
    kind: str

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int, allowed_rows: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the ``k`` nearest rows for each query; rows are -1 past the end.

        ``allowed_rows`` restricts the search to a filtered subset with faiss's ID selector, so
        a filter never returns fewer hits than it could.
        """
        faiss = _faiss()
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.index.d)
        k = max(1, min(k, self.count)) if self.count else 1
        params = None
        if allowed_rows is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_rows, np.int64))
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            elif self.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=selector, nprobe=self.index.nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        scores, rows = self.index.search(queries, k, params=params)
        return scores, rows


def build_index(vectors: np.ndarray, rows: np.ndarray, kind: str = "auto",
                params: dict[str, Any] | None = None) -> VectorIndex:
    """An inner-product index over L2-normalised ``vectors`` with ids ``rows``."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, np.float32)
    count, dim = vectors.shape
    kind = choose_kind(count, kind)
    params = dict(params or {})
    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, params.get("m", HNSW_M), faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = params.get("ef_construction", HNSW_EF_CONSTRUCTION)
        inner.hnsw.efSearch = params.get("ef_search", HNSW_EF_SEARCH)
        index = faiss.IndexIDMap2(inner)
    else:
        nlist = params.get("nlist", max(1, int(4 * np.sqrt(count))))
        quantizer = faiss.IndexFlatIP(dim)
        inner = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        inner.train(vectors)
        inner.nprobe = params.get("nprobe", 8)
        index = faiss.IndexIDMap2(inner)
    index.add_with_ids(vectors, np.ascontiguousarray(rows, np.int64))
    return VectorIndex(index, kind)


def save_index(folder: Path, index: VectorIndex, generation: int,
               params: dict[str, Any] | None = None) -> IndexInfo:
    """Write ``index-<generation>.faiss`` atomically; the caller points the manifest at it."""
    faiss = _faiss()
    data = faiss.serialize_index(index.index).tobytes()
    name = f"index-{generation:06d}.faiss"
    atomic_write_bytes(folder / name, data)
    return IndexInfo(name, index.kind, hashlib.sha256(data).hexdigest(), index.count, dict(params or {}))


def load_index(folder: Path, info: IndexInfo) -> VectorIndex:
    """Open and verify the index the manifest names."""
    faiss = _faiss()
    data = read_checked(folder, info)
    path = folder / info.file
    try:
        index = faiss.deserialize_index(np.frombuffer(data, np.uint8))
    except RuntimeError as exc:
        raise LibraryDamaged(path, f"the index file cannot be loaded ({str(exc).splitlines()[0]}); "
                                   f"{repair_advice(folder)}") from None
    if index.ntotal != info.count:
        raise LibraryDamaged(path, f"the index holds {index.ntotal} vectors, the manifest says {info.count}; "
                                   f"{repair_advice(folder)}")
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    if info.kind == "hnsw":
        inner.hnsw.efSearch = info.params.get("ef_search", HNSW_EF_SEARCH)
    elif info.kind == "ivf":
        inner.nprobe = info.params.get("nprobe", 8)
    return VectorIndex(index, info.kind)


def read_checked(folder: Path, info: IndexInfo) -> bytes:
    """The bytes of the index file the manifest names, after checking its name stays in the
    library folder and its SHA-256 is the manifest's."""
    if not is_plain_file_name(info.file):
        raise LibraryDamaged(folder / MANIFEST_NAME, f"the manifest names the index file {info.file!r}, "
                                                     f"which is not a file in the library folder; "
                                                     f"{repair_advice(folder)}")
    path = folder / info.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LibraryDamaged(path, f"the index file the manifest names is missing; "
                                   f"{repair_advice(folder)}") from None
    except OSError as exc:
        raise LibraryError(path, f"the index file cannot be read ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != info.sha256:
        raise LibraryDamaged(path, f"the index file is damaged (its SHA-256 does not match the "
                                   f"manifest); {repair_advice(folder)}")
    return data


def remove_stale(folder: Path, keep: str) -> None:
    """Delete index files other than ``keep`` (best effort: one may still be open elsewhere)."""
    for path in folder.glob("index-*.faiss"):
        if path.name != keep:
            try:
                path.unlink()
            except OSError:
                pass
