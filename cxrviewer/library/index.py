"""The FAISS index of an embedding route: its kind chosen by size, built, and searched.

Below ``EXACT_LIMIT`` vectors the index is exact (``flat``). Above, it is ``ivf-pq``: inverted
lists of 4-bit product codes (faiss fast-scan) whose best ``k_factor * k`` candidates are
re-scored on float16 copies of the vectors (a refine step). On 512-d clustered unit vectors
(``bench library``, this 2-core machine, shared; the 224k rows and plain ``hnsw`` at 1M are from
an earlier run of the same bench):

=========  ==========  ==========  ========  ================================  ============  ===========
kind        n           build       bytes     recall@10 (setting)               ms / query    open (mmap)
=========  ==========  ==========  ========  ================================  ============  ===========
hnsw        224,000     212 s       2,320     1.000 (ef 64)                     0.29          33 ms
ivf-pq      224,000     3 s         1,070     1.000 (nprobe 8)                  0.17-0.29     30 ms
hnsw        1,000,000   1,156 s     2,320     0.995 (ef 128)                    0.38          90 ms
hnsw-sq     1,000,000   719 s       1,296     0.993 (ef 128)                    0.32          107 ms
ivf-pq      1,000,000   48 s        1,067     0.998 (nprobe 16, k_factor 64)    0.50          66 ms
=========  ==========  ==========  ========  ================================  ============  ===========

So ``ivf-pq`` is as good as HNSW from 50,000 vectors up (recall@10 0.9995 there) at half the
file and a small part of the build, which every new version of a library repeats. 8-bit scalar
codes (``hnsw-sq`` with ``sq=SQ8``, or an SQ8 refine) cap recall@10 at 0.96 at 1M: float16
it is. ``hnsw``, ``hnsw-sq`` and ``ivf`` stay available by name.

The index stores positions 0..n-1; the library's rows are its ids. When the rows are not
0..n-1, an ``IndexIDMap`` keeps them, and a filter is turned into positions here, so every
kind filters the same way. Files: ``index_files``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXACT_LIMIT = 50_000
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
    "ivf-pq": {"pq_m": 64, "refine": "SQfp16", "nprobe": 16, "k_factor": 64},
}
# 8-bit codes could not rank clustered vectors closely enough: searched exhaustively they reach
# recall@10 0.982 at 100k (float16: 1.0), below the 0.99 goal whatever the index around them.
SCALAR_QUANTIZERS = {"SQ8": "QT_8bit", "SQfp16": "QT_fp16"}
TRAIN_PER_LIST = 128  # k-means sample per inverted list: faiss wants >= 39, more only costs time
# A filter that leaves at most this many rows is searched exactly over them (the index's own
# float32 / float16 codes, faiss skipping the others by a bitmap): an approximate search told to
# skip almost every film returns fewer hits than it could (HNSW found 2 of 3 allowed rows; IVF-PQ
# recall@10 0.36 with 1 % of 224k rows allowed, unwidened), and scanning 5,000 of 1M rows took
# 4 ms, 30,000 19 ms. Above it the approximate search is widened (``VectorIndex._parameters``).
EXACT_SUBSET_LIMIT = 20_000
MAX_EF_SEARCH = 2048  # the widest HNSW queue a filtered search gets (see VectorIndex._parameters)
MAX_K_FACTOR = 1024.0  # and the longest IVF-PQ shortlist, in multiples of k


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
    return "flat" if count < EXACT_LIMIT else "ivf-pq"


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
        selector = bitmap = None
        share = 1.0
        if allowed_rows is not None:
            # a bitmap of every position: 1 ms for 250,000 of 1M rows, where a hash set took 48
            # (and no sorting: np.unique of 112,000 rows took 26 ms)
            mask = np.zeros(self.count, bool)
            mask[self._positions(np.asarray(allowed_rows, np.int64))] = True
            allowed = int(np.count_nonzero(mask))
            bitmap = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.count, faiss.swig_ptr(bitmap))
            store = self._exact_store(faiss) if allowed <= EXACT_SUBSET_LIMIT else None
            if store is not None:
                scores, positions = store.search(queries, k, params=faiss.SearchParameters(sel=selector))
                del bitmap
                return self._as_rows(scores, positions)
            share = max(allowed, 1) / max(self.count, 1)
        params, keep = self._parameters(faiss, selector, k, share)
        scores, positions = self.inner.search(queries, k, params=params)
        del keep, bitmap
        return self._as_rows(scores, positions)

    def _as_rows(self, scores: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.ids is None:
            return scores, positions
        return scores, np.where(positions >= 0, self.ids[np.maximum(positions, 0)], -1)

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        if self.ids is None:
            return np.ascontiguousarray(rows[(rows >= 0) & (rows < self.count)], np.int64)
        at = np.searchsorted(self.ids, rows)
        found = (at < len(self.ids)) & (self.ids[np.minimum(at, len(self.ids) - 1)] == rows)
        return np.ascontiguousarray(at[found], np.int64)

    def _exact_store(self, faiss: Any) -> Any:
        """The index's flat codes (float32 or float16 vectors: what a filtered search scans
        exactly), None for a kind without them (``ivf``)."""
        if self.kind == "flat":
            return self.inner
        if self.kind == "ivf-pq":
            return faiss.downcast_index(self.inner.refine_index)
        if self.kind in ("hnsw", "hnsw-sq"):
            return faiss.downcast_index(self.inner.storage)
        return None

    def _parameters(self, faiss: Any, selector: Any, k: int, share: float) -> tuple[Any, list[Any]]:
        """faiss's search parameters for this kind (and the objects they point at, which must
        outlive the search: SWIG does not keep them alive). A filter that keeps a ``share`` of
        the rows widens the search: 1 / share more lists probed (the allowed neighbours of a
        query often lie in other clusters) and a longer HNSW queue, and an IVF-PQ shortlist
        1 / sqrt(share) longer (with 5 % of 224k rows allowed, recall@10 went from 0.91 to 0.99
        with every list probed and the shortlist 4x longer)."""
        extra: dict[str, Any] = {} if selector is None else {"sel": selector}
        p = self.params
        if self.kind in ("hnsw", "hnsw-sq"):
            ef = min(MAX_EF_SEARCH, math.ceil(max(int(p["ef_search"]), k) / share))
            return faiss.SearchParametersHNSW(efSearch=max(ef, k), **extra), [selector]
        if self.kind in ("ivf", "ivf-pq"):
            lists = self.inner if self.kind == "ivf" else faiss.downcast_index(self.inner.base_index)
            nprobe = min(int(lists.nlist), math.ceil(int(p["nprobe"]) / share))
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(nprobe=nprobe, **extra), [selector]
        if self.kind == "ivf-pq":
            base = faiss.SearchParametersIVF(nprobe=nprobe, **extra)
            k_factor = min(MAX_K_FACTOR, float(p["k_factor"]) / math.sqrt(share))
            params = faiss.IndexRefineSearchParameters(k_factor=k_factor, base_index_params=base)
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
