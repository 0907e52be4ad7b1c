"""The index kinds at ``--n`` vectors (``bench library``): for each, the build time, recall@10
against exact search, single-query time, bytes per film, the time to open it (memory-mapped,
after its file was verified once) and the memory of a process with it open, measured in a fresh
process so that nothing of the build is counted. What ``index.choose_kind`` and the search
settings in ``index.DEFAULT_PARAMS`` are chosen from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

SWEEPS: dict[str, list[dict[str, Any]]] = {
    "flat": [{}],
    "hnsw": [{"ef_search": e} for e in (64, 128, 256)],
    "hnsw-sq": [{"ef_search": e} for e in (64, 128, 256, 512)],
    "ivf": [{"nprobe": p} for p in (8, 16, 32)],
    "ivf-pq": [{"nprobe": p, "k_factor": f} for p in (8, 16, 32) for f in (16, 32, 64, 128)],
}
GOAL_RECALL = 0.99
FILTER_SHARES = (0.2, 0.05, 0.01, 0.001)  # filtered searches keep these shares of the rows (at random)


def queries_near(data: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    """Queries near stored films (a film like others in the library), unit length."""
    rng = np.random.default_rng(seed)
    dim = data.shape[1]
    q = data[rng.integers(0, len(data), count)] + 0.3 / np.sqrt(dim) * rng.normal(size=(count, dim)).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact_neighbours(data: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    from cxrviewer.library.index import _faiss

    faiss = _faiss()
    return faiss.knn(queries, data, k, metric=faiss.METRIC_INNER_PRODUCT)[1]


def recall_at(truth: np.ndarray, found: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, found)]))


def parse_kind(text: str) -> tuple[str, dict[str, Any]]:
    """``kind`` or ``kind:key=value,...`` (build settings, e.g. ``hnsw-sq:sq=SQ8``)."""
    kind, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        params[key] = int(value) if value.isdigit() else value
    return kind, params


def bench_index_kinds(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, kinds: tuple[str, ...],
                      work: Path) -> dict[str, dict[str, Any]]:
    """Build, save and measure each kind (``parse_kind``); returns its name -> figures of its
    first setting that reaches ``GOAL_RECALL`` (else its best)."""
    from cxrviewer.library.index import build_index, search_params
    from cxrviewer.library.index_files import save_index

    np.save(work / "queries.npy", queries)
    np.save(work / "truth.npy", truth)
    n = len(data)
    rng = np.random.default_rng(7)
    for i, share in enumerate(FILTER_SHARES):
        allowed = np.flatnonzero(rng.random(n) < share)
        np.save(work / f"allowed-{i}.npy", allowed)
        np.save(work / f"truth-{i}.npy", allowed[exact_neighbours(data[allowed], queries)])
    chosen: dict[str, dict[str, Any]] = {}
    for generation, name in enumerate(kinds, start=1):
        kind, build_params = parse_kind(name)
        started = time.perf_counter()
        index = build_index(data, np.arange(n), kind, build_params)
        build_s = time.perf_counter() - started
        info = save_index(work, index, generation)
        del index
        path = work / info.file
        past = time.time() - 60  # as a library file written a while ago (see index_files: racy files)
        os.utime(path, (past, past))
        (work / f"{info.file}.json").write_text(json.dumps(asdict(info)))
        opened = _measure_in_fresh_process(work, info.file, kind)
        size = path.stat().st_size
        print(f"  {name}: built in {build_s:.0f} s, {size / n:,.0f} bytes/film ({size / 2**20:,.0f} MiB); "
              f"in a fresh process: SHA-256 {opened['hash_s']:.2f} s (once), open {opened['open_ms']:.1f} ms "
              f"(mmap: {opened['mapped']}), RSS {opened['rss_open_mb']:.0f} MB open, "
              f"peak {opened['peak_rss_mb']:.0f} MB after searching (of which file pages of the "
              f"mapped index {opened['rss_file_mb']:.0f} MB, anonymous {opened['rss_anon_mb']:.0f} MB)")
        best: dict[str, Any] = {}
        defaults = search_params(kind, build_params)  # what a library of this kind searches with
        for setting in opened["settings"]:
            label = ", ".join(f"{k} {v}" for k, v in setting["params"].items()) or "exact"
            is_default = all(defaults.get(k) == v for k, v in setting["params"].items())
            print(f"    {label:28s}: {setting['median_ms']:.3f} ms/query (median, single), "
                  f"p95 {setting['p95_ms']:.3f}, recall@10 {setting['recall']:.4f}{' (default)' if is_default else ''}")
            if is_default and setting["recall"] >= GOAL_RECALL:
                best = {**setting, "default": True}
            elif not best.get("default") and (not best or (best["recall"] < GOAL_RECALL
                                                           and setting["recall"] > best["recall"])):
                best = setting
        for share, ms, recall in opened["filtered"]:
            print(f"    filtered to {share:.1%} of the rows, default settings: {ms:.3f} ms/query, "
                  f"recall@10 {recall:.4f}")
        os.unlink(path)
        chosen[name] = {"build_s": build_s, "bytes_per_film": size / n, "open_ms": opened["open_ms"],
                        "hash_s": opened["hash_s"], "rss_open_mb": opened["rss_open_mb"],
                        "peak_rss_mb": opened["peak_rss_mb"], **best}
    return chosen


def _measure_in_fresh_process(work: Path, name: str, kind: str) -> dict[str, Any]:
    env = {**os.environ, "CXRVIEWER_CACHE_DIR": str(work / "cache")}
    sweep = json.dumps(SWEEPS.get(kind, [{}]))
    done = subprocess.run([sys.executable, "-m", "cxrviewer.bench._index_kinds", str(work), name, sweep],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"measuring {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _memory_mb() -> dict[str, float]:
    fields = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def _child(work: Path, name: str, sweep: list[dict[str, Any]]) -> dict[str, Any]:
    """In a fresh process: verify, open, search with each setting; figures as JSON."""
    from cxrviewer.library.index_files import load_index, verify_index_file
    from cxrviewer.library.manifest import IndexInfo

    info = IndexInfo(**json.loads((work / f"{name}.json").read_text()))
    queries, truth = np.load(work / "queries.npy"), np.load(work / "truth.npy")
    started = time.perf_counter()
    verify_index_file(work, info, always=True)
    hash_s = time.perf_counter() - started
    before = _memory_mb()["VmRSS"]
    started = time.perf_counter()
    index = load_index(work, info)  # verified just now: the file is not hashed again
    open_ms = 1000 * (time.perf_counter() - started)
    mapped = str(work / name) in Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    rss_open = _memory_mb()["VmRSS"] - before
    settings = []
    defaults = dict(index.params)
    for params in sweep:
        index.params.update(params)
        for q in queries[:20]:  # warm: page the parts a search touches in
            index.search(q[None], 10)
        times, found = [], np.empty_like(truth)
        for i, q in enumerate(queries):
            t = time.perf_counter()
            found[i] = index.search(q[None], 10)[1][0]
            times.append(1000 * (time.perf_counter() - t))
        settings.append({"params": params, "median_ms": float(np.median(times)),
                         "p95_ms": float(np.percentile(times, 95)), "recall": recall_at(truth, found)})
    index.params = defaults
    filtered = []
    for i, share in enumerate(FILTER_SHARES):
        allowed, want = np.load(work / f"allowed-{i}.npy"), np.load(work / f"truth-{i}.npy")
        times, found = [], np.empty_like(want)
        for j, q in enumerate(queries):
            t = time.perf_counter()
            found[j] = index.search(q[None], 10, allowed_rows=allowed)[1][0]
            times.append(1000 * (time.perf_counter() - t))
        filtered.append((share, float(np.median(times)), recall_at(want, found)))
    memory = _memory_mb()
    return {"open_ms": open_ms, "filtered": filtered, "hash_s": hash_s, "mapped": mapped, "rss_open_mb": rss_open,
            "peak_rss_mb": memory["VmHWM"], "rss_anon_mb": memory.get("RssAnon", 0.0),
            "rss_file_mb": memory.get("RssFile", 0.0), "settings": settings}


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]))))
