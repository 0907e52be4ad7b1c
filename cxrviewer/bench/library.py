"""``python -m cxrviewer.bench library``: index search, library build and thumbnail speed.

Goals (issues 4 and 20), all measured in one run:
- the findings route at ``--n`` cases: <= 30 ms per query at 224k and <= 100 ms at 1M, against
  the case-by-case reference (``_findings_route``);
- with ``--real-size``, a build of 2,500 x 3,000 px films at >= 0.8 of the reduced-decode bound
  (``_real_size``);
- FAISS search at 224k x 512: <= 1 ms per query at recall@10 >= 0.99 against exact search, and
  >= 50x faster than a cosine scan as pandas / scikit-learn code does it (normalise, dot, sort);
- building: the whole pipeline (read, decode, resize, thumbnail, write) reaches >= 0.8 of the
  throughput of decode + resize alone, with the same number of processes;
- a thumbnail out of the library (read + JPEG decode) in < 5 ms.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def _clustered(n: int, dim: int, seed: int, centres: int = 2000, noise: float = 0.6) -> np.ndarray:
    """Unit vectors around ``centres`` directions: embeddings of films cluster by content."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    step = 50_000
    for start in range(0, n, step):
        m = min(step, n - start)
        block = c[rng.integers(0, centres, m)] + noise / np.sqrt(dim) * rng.normal(size=(m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _cosine_scan_pandas(frame, query: np.ndarray, k: int) -> np.ndarray:
    """What a pandas / scikit-learn implementation does per query: normalise, dot, sort."""
    matrix = frame.to_numpy()
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
    scores = matrix @ query / norms
    return np.argsort(-scores)[:k]


def bench_index(n: int, dim: int, queries: int, ef_values: tuple[int, ...]) -> dict[str, float]:
    import pandas as pd

    from cxrviewer.library import index as I

    print(f"index: {n:,} x {dim} clustered unit vectors, {queries} queries, k=10")
    data = _clustered(n, dim, seed=0)
    rng = np.random.default_rng(1)
    picks = rng.integers(0, n, queries)
    q = data[picks] + 0.3 / np.sqrt(dim) * rng.normal(size=(queries, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rows = np.arange(n)

    exact = I.build_index(data, rows, "flat")
    t = time.perf_counter()
    _, truth = exact.search(q, 10)
    batched_exact_ms = (time.perf_counter() - t) * 1000 / queries
    single = []
    for i in range(min(queries, 20)):
        t = time.perf_counter()
        exact.search(q[i:i + 1], 10)
        single.append(time.perf_counter() - t)
    exact_ms = 1000 * float(np.median(single))
    print(f"  exact flat: {exact_ms:.2f} ms/query single, {batched_exact_ms:.2f} ms/query batched")

    t = time.perf_counter()
    hnsw = I.build_index(data, rows, "hnsw")
    print(f"  hnsw build: {time.perf_counter() - t:.1f} s")
    chosen: dict[str, float] = {}
    for ef in ef_values:
        import faiss

        inner = faiss.downcast_index(hnsw.index.index)
        assert isinstance(inner, faiss.IndexHNSW)
        inner.hnsw.efSearch = ef
        times = []
        found = np.empty_like(truth)
        for i in range(queries):
            t = time.perf_counter()
            _, r = hnsw.index.search(q[i:i + 1], 10)
            times.append(time.perf_counter() - t)
            found[i] = r[0]
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)]))
        ms = 1000 * float(np.mean(times))
        print(f"  hnsw efSearch {ef:4d}: {ms:.3f} ms/query, recall@10 {recall:.4f}")
        if not chosen and recall >= 0.99:
            chosen = {"ef_search": ef, "ms": ms, "recall": recall}
    if not chosen:
        chosen = {"ef_search": ef_values[-1], "ms": ms, "recall": recall}

    frame = pd.DataFrame(data)
    times = []
    for i in range(5):
        t = time.perf_counter()
        _cosine_scan_pandas(frame, q[i], 10)
        times.append(time.perf_counter() - t)
    scan_ms = 1000 * float(np.median(times))
    speedup = scan_ms / chosen["ms"]
    print(f"  pandas cosine scan: {scan_ms:.1f} ms/query")
    print(f"  => HNSW efSearch {chosen['ef_search']}: {chosen['ms']:.3f} ms/query (goal <= 1 ms), "
          f"recall@10 {chosen['recall']:.4f} (goal >= 0.99), {speedup:.0f}x the scan (goal >= 50x)")
    return {"hnsw_ms": chosen["ms"], "recall": chosen["recall"], "speedup": speedup}


def _bound_job(job: tuple[str, int, int]) -> int:
    from cxrviewer.library.prepare import decode_and_shrink

    return int(decode_and_shrink(*job).size)


def bench_build(root: Path | None, cases: int, size: int, workers: int, repeats: int = 3) -> dict[str, float]:
    from cxrviewer.demo import write_demo
    from cxrviewer.library.build import BuildOptions, build_library, read_dataset
    from cxrviewer.library.library import Library

    with tempfile.TemporaryDirectory(prefix="cxrviewer-bench-") as tmp:
        if root is None:
            root = Path(tmp) / "demo"
            t = time.perf_counter()
            write_demo(root, n_cases=cases, size=size, workers=workers)
            print(f"build: wrote {cases} synthetic {size}px DICOM cases in {time.perf_counter() - t:.1f} s")
        dataset = "demo" if (root / "demo_cases.jsonl").exists() else "folder"
        found, _ = read_dataset(dataset, root)
        jobs = [(c.image, c.frame, 256) for c in found]
        n = len(jobs)
        context = multiprocessing.get_context("spawn")
        bounds, builds, spans = [], [], []
        out = Path(tmp) / "library"
        for _ in range(repeats):  # interleaved, so the machine's drifting load hits both alike
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                list(pool.map(_bound_job, jobs[:workers * 2]))  # start the workers before timing
                t = time.perf_counter()
                list(pool.map(_bound_job, jobs, chunksize=8))
                bounds.append(time.perf_counter() - t)
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            result = build_library(BuildOptions(dataset, root, out, workers=workers))
            builds.append(time.perf_counter() - t)
            spans.append(result.images_span)
        bound, full, span = (float(np.median(v)) for v in (bounds, builds, spans))
        ratio = bound / full
        steady = (bound / n) / (span / max(n - 1, 1))
        print(f"  decode + resize alone: {n / bound:.0f} images/s (warm workers; median of {repeats})")
        print(f"  the build's pipeline (read, decode, resize, thumbnail, label, write), first image to "
              f"last: {(n - 1) / span:.0f} images/s => {steady:.2f} of the bound (goal >= 0.8)")
        print(f"  whole build incl. starting its worker processes ({full - span:.2f} s before "
              f"and after the images): {n / full:.0f} images/s => {ratio:.2f} of the bound")

        with Library.open(out) as library:
            ids = [c.case_id for c in found]
            random.Random(0).shuffle(ids)
            from PIL import Image

            times = []
            for case_id in ids[:200]:
                t = time.perf_counter()
                jpeg = library.thumbnail(case_id)
                assert jpeg is not None  # the ids are the library's own
                Image.open(io.BytesIO(jpeg)).load()
                times.append(time.perf_counter() - t)
        thumb_ms = 1000 * float(np.mean(times))
        print(f"  thumbnail out of the library (read + decode): mean {thumb_ms:.2f} ms, "
              f"p95 {1000 * float(np.percentile(times, 95)):.2f} ms (goal < 5 ms)")
    return {"build_ratio": steady, "whole_build_ratio": ratio, "thumb_ms": thumb_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench library")
    parser.add_argument("--n", type=int, default=224_000, help="index size")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="64,128,256", help="efSearch values to try")
    parser.add_argument("--root", type=Path, default=None, help="a dataset folder to build from "
                                                                 "(default: a fresh synthetic demo)")
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-findings", action="store_true", help="skip the findings route at --n cases")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--real-size", action="store_true",
                        help="also build from 2,500 x 3,000 px JPEG, 16-bit PNG and DICOM films "
                             "against the full- and reduced-decode bounds")
    parser.add_argument("--real-films", type=int, default=100, help="films per format for --real-size")
    args = parser.parse_args(argv)
    if not args.skip_index:
        bench_index(args.n, args.dim, args.queries, tuple(int(e) for e in args.ef.split(",")))
    if not args.skip_findings:
        from cxrviewer.bench._findings_route import bench_findings_route

        bench_findings_route(args.n)
    if not args.skip_build:
        bench_build(args.root, args.cases, args.size, args.workers)
    if args.real_size:
        from cxrviewer.bench._real_size import bench_real_size

        bench_real_size(args.real_films, args.workers)
    return 0
