"""The FAISS index of an embedding route: its kind chosen by size, built, and searched.

Measured here (design.md, ``bench library``): an exact inner-product scan costs 36 ms per query
at 224k x 512 and 167 ms at 1M, so above ``EXACT_LIMIT`` vectors the index is approximate. Up
to ``COMPACT_LIMIT`` it is HNSW over the float vectors (0.09 ms at recall@10 0.9995 at 224k,
2.3 KB a film); above, where the float vectors alone pass 1 GB, an IVF index of 4-bit product
codes with a refine step over 8-bit scalar codes (``ivf-pq``: 0.6 KB a film, opened
memory-mapped in milliseconds; figures in the README). ``hnsw-sq`` (HNSW over 8-bit codes) is
kept as a choice: it searches faster but its graph cannot be memory-mapped as cheaply and
its 8-bit codes cap its recall (``bench library --n 1000000``).

The index stores positions 0..n-1; the library's rows are its ids. When the rows are not
0..n-1 (they are in every library built so far), an ``IndexIDMap`` keeps them, and a filter is
turned into positions here, so every kind filters the same way. Files: ``index_files``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXACT_LIMIT = 50_000
COMPACT_LIMIT = 400_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128  # 40 gave recall@10 0.92 at efSearch 64 on 224k clustered vectors; 128 gives 1.0
HNSW_EF_SEARCH = 64
KINDS = ("auto", "flat", "hnsw", "hnsw-sq", "ivf", "ivf-pq")
# Search settings per kind, recorded in the manifest with the index (bench library chose them).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "flat": {},
    "hnsw": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH},
    "hnsw-sq": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": 128, "sq": "SQfp16"},
    "ivf": {"nprobe": 8},
    "ivf-pq": {"pq_m": 64, "refine": "SQfp16", "nprobe": 32, "k_factor": 8},
}
# 8-bit codes could not rank clustered vectors closely enough: searched exhaustively they reach
# recall@10 0.982 at 100k (float16: 1.0), below the 0.99 goal whatever the index around them.
SCALAR_QUANTIZERS = {"SQ8": "QT_8bit", "SQfp16": "QT_fp16"}
TRAIN_PER_LIST = 128  # k-means sample per inverted list: faiss wants >= 39, more only costs time
# A filter that leaves at most this many rows is searched exactly over them (their vectors
# rebuilt from the index's own codes): an approximate search told to skip almost every film
# returns fewer hits than it could (HNSW found 2 of 3 allowed rows), and 20,000 vectors take
# a few ms to score.
EXACT_SUBSET_LIMIT = 20_000


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
    if count < EXACT_LIMIT:
        return "flat"
    return "hnsw" if count < COMPACT_LIMIT else "ivf-pq"


def search_params(kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The kind's defaults overridden by ``params`` (what the manifest records)."""
    return {**DEFAULT_PARAMS.get(kind, {}), **(params or {})}


def nlist_for(count: int) -> int:
    """Inverted lists for ``count`` vectors: the power of two nearest sqrt(count) (1,024 at 1M),
    fewer where there are not 39 training vectors a list (faiss's minimum)."""
    lists = 2 ** round(math.log2(max(1.0, math.sqrt(count))))
    return int(max(1, min(lists, count // 39)))


@dataclass
class VectorIndex:
    """A loaded FAISS index whose ids are library rows.

    ``inner`` searches positions; ``ids`` (ascending) maps a position to its row, None when the
    rows are the positions. ``index`` is what is written to the file (``inner`` or an IDMap).
    """

    index: Any
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    inner: Any = None
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.inner is None:
            self.inner, self.ids = _unwrap(self.index)
        self.params = search_params(self.kind, self.params)

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
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.inner.d)
        k = max(1, min(k, self.count)) if self.count else 1
        selector = allowed = bitmap = None
        if allowed_rows is not None:
            allowed = self._positions(np.unique(np.asarray(allowed_rows, np.int64)))
            found = self._search_subset(faiss, queries, k, allowed) if len(allowed) <= EXACT_SUBSET_LIMIT else None
            if found is not None:
                return self._as_rows(*found)
            # a bitmap of every position: 1 ms for 250,000 of 1M rows, where a hash set took 48
            bitmap = np.zeros(self.count, bool)
            bitmap[allowed] = True
            bitmap = np.packbits(bitmap, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.count, faiss.swig_ptr(bitmap))
        params, keep = self._parameters(faiss, selector, k)
        scores, positions = self.inner.search(queries, k, params=params)
        del keep, bitmap
        return self._as_rows(scores, positions)

    def _as_rows(self, scores: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.ids is None:
            return scores, positions
        return scores, np.where(positions >= 0, self.ids[np.maximum(positions, 0)], -1)

    def _search_subset(self, faiss: Any, queries: np.ndarray, k: int, positions: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact scores over ``positions`` (ascending), from vectors the index can give back;
        None for a kind that cannot (``ivf``: the search with a selector is used)."""
        store = {"flat": lambda: self.inner, "ivf-pq": lambda: faiss.downcast_index(self.inner.refine_index),
                 "hnsw": lambda: faiss.downcast_index(self.inner.storage),
                 "hnsw-sq": lambda: faiss.downcast_index(self.inner.storage)}.get(self.kind)
        if store is None:
            return None
        vectors = store().reconstruct_batch(positions) if len(positions) else np.zeros((0, self.inner.d), np.float32)
        scores = queries @ vectors.T
        take = min(k, len(positions))
        top = np.argpartition(-scores, take - 1, axis=1)[:, :take] if take else np.zeros((len(queries), 0), np.int64)
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
        out_scores = np.full((len(queries), k), -np.inf, np.float32)
        out_positions = np.full((len(queries), k), -1, np.int64)
        out_scores[:, :take] = np.take_along_axis(scores, top, axis=1)
        out_positions[:, :take] = positions[top]
        return out_scores, out_positions

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        if self.ids is None:
            return np.ascontiguousarray(rows, np.int64)
        at = np.searchsorted(self.ids, rows)
        found = (at < len(self.ids)) & (self.ids[np.minimum(at, len(self.ids) - 1)] == rows)
        return np.ascontiguousarray(at[found], np.int64)

    def _parameters(self, faiss: Any, selector: Any, k: int) -> tuple[Any, list[Any]]:
        """faiss's search parameters for this kind (and the objects they point at, which must
        outlive the search: SWIG does not keep them alive)."""
        extra: dict[str, Any] = {} if selector is None else {"sel": selector}
        p = self.params
        if self.kind in ("hnsw", "hnsw-sq"):
            params = faiss.SearchParametersHNSW(efSearch=max(int(p["ef_search"]), k), **extra)
            return params, [selector]
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(nprobe=int(p["nprobe"]), **extra), [selector]
        if self.kind == "ivf-pq":
            base = faiss.SearchParametersIVF(nprobe=int(p["nprobe"]), **extra)
            params = faiss.IndexRefineSearchParameters(k_factor=float(p["k_factor"]), base_index_params=base)
            return params, [base, selector]
        return (faiss.SearchParameters(**extra) if extra else None), [selector]


def _unwrap(index: Any) -> tuple[Any, np.ndarray | None]:
    """The position index inside ``index`` and its ascending row ids (None: rows = positions).
    Older libraries wrap every kind in an IndexIDMap2, whose ids are ascending too."""
    faiss = _faiss()
    if not hasattr(index, "id_map"):
        return index, None
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise ValueError("the index's row ids are not ascending")
    return faiss.downcast_index(index.index), ids


def build_index(vectors: np.ndarray, rows: np.ndarray, kind: str = "auto",
                params: dict[str, Any] | None = None) -> VectorIndex:
    """An inner-product index over L2-normalised ``vectors`` with ids ``rows``."""
    faiss = _faiss()
    rows = np.asarray(rows, np.int64)
    order = np.argsort(rows, kind="stable")
    if not bool(np.all(order == np.arange(len(rows)))):
        rows, vectors = rows[order], np.asarray(vectors)[order]
    vectors = np.ascontiguousarray(vectors, np.float32)
    count, dim = vectors.shape
    kind = choose_kind(count, kind)
    settings = search_params(kind, params)
    inner = _empty_index(faiss, kind, dim, count, settings)
    if not inner.is_trained:
        inner.train(_training_sample(vectors, settings.get("nlist", nlist_for(count))))
    ids = None if bool(np.array_equal(rows, np.arange(count))) else rows
    index = inner if ids is None else faiss.IndexIDMap(inner)
    if ids is None:
        inner.add(vectors)
    else:
        index.add_with_ids(vectors, ids)
    if kind == "ivf-pq":
        settings["nlist"] = int(faiss.downcast_index(inner.base_index).nlist)
    elif kind == "ivf":
        settings["nlist"] = int(inner.nlist)
    return VectorIndex(index, kind, settings, inner, ids)


def _empty_index(faiss: Any, kind: str, dim: int, count: int, p: dict[str, Any]) -> Any:
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind in ("hnsw", "hnsw-sq"):
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(p["m"]), ip)
        else:
            qtype = getattr(faiss.ScalarQuantizer, SCALAR_QUANTIZERS[str(p["sq"])])
            index = faiss.IndexHNSWSQ(dim, qtype, int(p["m"]), ip)
        index.hnsw.efConstruction = int(p["ef_construction"])
        index.hnsw.efSearch = int(p["ef_search"])
        return index
    nlist = int(p.get("nlist", nlist_for(count)))
    if kind == "ivf":
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, ip)
        index.nprobe = int(p["nprobe"])
        return index
    if kind == "ivf-pq":
        if dim % int(p["pq_m"]) or str(p["refine"]) not in (*SCALAR_QUANTIZERS, "Flat"):
            raise ValueError(f"pq_m {p['pq_m']} must divide the dimension {dim}, refine be one of "
                             f"{', '.join(SCALAR_QUANTIZERS)} or Flat")
        index = faiss.index_factory(dim, f"IVF{nlist},PQ{int(p['pq_m'])}x4fs,Refine({p['refine']})", ip)
        faiss.downcast_index(index.base_index).nprobe = int(p["nprobe"])
        index.k_factor = float(p["k_factor"])
        return index
    raise ValueError(f"unknown index kind {kind!r}")


def _training_sample(vectors: np.ndarray, nlist: int) -> np.ndarray:
    """At most ``TRAIN_PER_LIST`` vectors a list, drawn evenly (k-means time grows with it)."""
    limit = max(10_000, TRAIN_PER_LIST * int(nlist))
    if len(vectors) <= limit:
        return vectors
    picks = np.sort(np.random.default_rng(0).choice(len(vectors), limit, replace=False))
    return np.ascontiguousarray(vectors[picks])
