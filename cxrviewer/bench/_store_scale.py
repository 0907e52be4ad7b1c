"""The metadata store and the model route at ``--n`` cases (``bench library``).

A library of ``n`` cases in the real format, with the shipped ``demo-clip`` model as its route
(its text tower encodes the queries; the stored vectors are clustered unit vectors of its
dimension), CheXpert-like findings, views, sexes and ages, and thumbnails the size of real ones
(11 KB; 256 px thumbnails of the real DICOMs in shared/data are 8-10 KB).
In a fresh process: the open (first, with the index hashed, and again), each filter of the
search panel (over arrays, ``filters.RowFilter``, and as the SQL it replaces), fetching 100
hits, and the whole impression-to-gallery search (encode, filter, index, fetch:
``SearchResult.timings``); the memory of that process; and the copy a build makes
of the database for a new version (``library.versions``). Goal: a search under 50 ms on a CPU.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "demo-clip"
GOAL_MS = 50.0
QUERIES = ("mild cardiomegaly, small left effusion", "right lower lobe consolidation", "no acute disease",
           "large right pneumothorax", "pulmonary edema with bilateral effusions", "left upper lobe mass",
           "endotracheal tube and central line in place", "atelectasis at the left base")
FILTERS: dict[str, dict[str, Any]] = {
    "view PA": {"views": ("PA",)},
    "sex F": {"sex": "F"},
    "age 40-60": {"age_min": 40, "age_max": 60},
    "finding Cardiomegaly": {"required": ("Cardiomegaly",)},
    "no Pleural Effusion": {"excluded": ("Pleural Effusion",)},
    "PA, F, 40-60, Cardiomegaly": {"views": ("PA",), "sex": "F", "age_min": 40, "age_max": 60,
                                   "required": ("Cardiomegaly",)},
}


def thumbnail_like_real(size: int = 256) -> bytes:
    """A JPEG the size of a library thumbnail of a real film (smooth, some texture; q85)."""
    from PIL import Image

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:size, 0:size] / size
    film = 120 + 80 * np.sin(3 * x) * np.cos(2 * y) + rng.normal(0, 5, (size, size))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(film, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def write_model_library(folder: Path, n: int, batch: int = 20_000) -> dict[str, Any]:
    """A ready library of ``n`` cases with the ``demo-clip`` route; what writing it took."""
    from cxrviewer.bench._label_library import WORDS, _draw
    from cxrviewer.bench._vectors import clustered as _clustered
    from cxrviewer.datasets.case import Case
    from cxrviewer.library.index import build_index
    from cxrviewer.library.index_files import save_index
    from cxrviewer.library.manifest import Manifest, now_iso, write_manifest
    from cxrviewer.library.store import STORE_NAME, PreparedCase, Store, encode_vector
    from cxrviewer.models.encoders import resolve_spec
    from cxrviewer.reports.sections import ReportSections

    dim = int(resolve_spec(MODEL).embed_dim)
    vectors = _clustered(n, dim, seed=2)
    thumb = thumbnail_like_real()
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    store = Store(folder / STORE_NAME, create=True)
    started = time.perf_counter()
    for start in range(0, n, batch):
        items = []
        for i in range(start, min(n, start + batch)):
            findings, details = _draw(rng, True)
            text = " ".join(rng.choice(WORDS, int(rng.integers(4, 14))))
            case = Case(case_id=f"gen:{i:07d}", patient_id=f"p{i // 3:07d}", study_id=f"s{i // 2:07d}",
                        image=f"/films/{i:07d}.jpg", dataset="generated",
                        view=("PA", "AP", "AP", "LL")[int(rng.integers(4))], sex="MF"[int(rng.integers(2))],
                        age=float(rng.integers(18, 96)), report=ReportSections(findings=text, impression=text[:40]),
                        findings=findings, findings_source="report", split="train")
            items.append(PreparedCase(case, details, thumb, (256, 256), encode_vector(vectors[i])))
        store.add_batch(items, [])
    counts = store.counts()
    store.finish()
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    index = build_index(vectors, np.arange(n), "auto")
    del vectors
    info = save_index(folder, index, 1)
    index_s = time.perf_counter() - started
    past = time.time() - 60  # a library written a while ago (index_files: racy files are re-hashed)
    os.utime(folder / info.file, (past, past))
    stamp = now_iso()
    write_manifest(folder, Manifest(name="bench", route=MODEL, dim=dim, state="ready", index=info, counts=counts,
                                    synthetic=True, preprocessing={"encoder": {"name": MODEL}},
                                    created=stamp, updated=stamp))
    return {"write_s": write_s, "index_s": index_s, "dim": dim, "thumb_bytes": len(thumb), "kind": info.kind}


def bench_store(n: int, work: Path) -> dict[str, Any]:
    print(f"metadata store and model route: {n:,} cases, {MODEL} text tower, k=100")
    folder = work / "library"
    written = write_model_library(folder, n)
    print(f"  wrote the library in {written['write_s']:.0f} s ({written['thumb_bytes']:,}-byte thumbnails), "
          f"its {written['kind']} index ({written['dim']}-d) in {written['index_s']:.0f} s")
    env = {**os.environ, "CXRVIEWER_CACHE_DIR": str(work / "cache")}
    done = subprocess.run([sys.executable, "-m", "cxrviewer.bench._store_scale", str(folder)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"measuring the library failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  database {figures['db_mb']:,.0f} MB ({figures['db_mb'] * 2**20 / n:,.0f} bytes/case), of which "
          f"embeddings {figures['vectors_mb']:,.0f} MB as float16 (float32: twice that)")
    print(f"  Library.open: {figures['open_first_s']:.2f} s the first time (index hashed), "
          f"{figures['open_ms']:.0f} ms after")
    print(f"  filter columns loaded on the first filtered search: {figures['columns_s']:.2f} s")
    for name, (rows, sql_ms, array_ms) in figures["filters"].items():
        print(f"  filter {name:28s}: {rows:9,} rows, {array_ms:6.1f} ms over arrays (as SQL {sql_ms:6.1f} ms)")
    print(f"  fetch 100 hits (store.cases): {figures['fetch_ms']:.1f} ms")
    for name, stages in figures["search"].items():
        parts = ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if k != "total")
        print(f"  search {name}: {stages['total']:.1f} ms median ({parts} ms)")
    print(f"  memory of the process: peak {figures['peak_rss_mb']:,.0f} MB "
          f"(anonymous {figures['rss_anon_mb']:,.0f} MB, file pages {figures['rss_file_mb']:,.0f} MB)")
    print(f"  a new version's copy of the database: {figures['copy_s']:.1f} s "
          f"({figures['db_mb'] / max(figures['copy_s'], 1e-9):,.0f} MB/s)")
    worst = max(stages["total"] for stages in figures["search"].values())
    print(f"  => impression to gallery {worst:.1f} ms at worst (goal < {GOAL_MS:.0f} ms)")
    return {**written, **figures, "worst_search_ms": worst}


def _median_ms(run, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - t))
    return float(np.median(times))


def _child(folder: Path) -> dict[str, Any]:
    from cxrviewer.bench._index_kinds import _memory_mb
    from cxrviewer.library.filters import RowFilter
    from cxrviewer.library.library import Filters, Library, SearchRequest
    from cxrviewer.library.versions import start_version

    started = time.perf_counter()
    Library.open(folder).close()
    open_first_s = time.perf_counter() - started
    started = time.perf_counter()
    library = Library.open(folder)
    open_ms = 1000 * (time.perf_counter() - started)
    store = library.store
    db_mb = store.path.stat().st_size / 2**20
    vectors_mb = store.db.execute("SELECT SUM(LENGTH(vec)) FROM embeddings").fetchone()[0] / 2**20
    started = time.perf_counter()
    columns = RowFilter(store)
    columns_s = time.perf_counter() - started
    filters = {}
    for name, spec in FILTERS.items():
        chosen = Filters(**spec)
        where, params = chosen.sql()
        rows = len(store.filtered_rows(where, params))
        filters[name] = (rows, _median_ms(lambda w=where, p=params: store.filtered_rows(w, p)),
                         _median_ms(lambda f=chosen: columns.rows(f)))
    picks = [int(r) for r in np.random.default_rng(0).choice(library.count, 100, replace=False)]
    fetch_ms = _median_ms(lambda: store.cases(picks))
    route = library.manifest.route
    search: dict[str, dict[str, float]] = {}
    panels: dict[str, dict[str, Any]] = {"no filter": {}, "PA, F": {"views": ("PA",), "sex": "F"},
                                         "Cardiomegaly": {"required": ("Cardiomegaly",)}}
    for name, spec in panels.items():
        for text in QUERIES[:3]:  # warm: the encoder's first calls, the index's pages
            library.search(SearchRequest(text=text, k=100, route=route, filters=Filters(**spec)))
        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        for text in QUERIES * 2:
            result = library.search(SearchRequest(text=text, k=100, route=route, filters=Filters(**spec)))
            totals.append(1000 * result.seconds)
            for stage, seconds in result.timings.items():
                stages.setdefault(stage, []).append(1000 * seconds)
        search[name] = {"total": float(np.median(totals)), **{k: float(np.median(v)) for k, v in stages.items()}}
    memory = _memory_mb()
    manifest = library.manifest
    library.close()
    started = time.perf_counter()
    copy = start_version(folder, manifest)
    copy_s = time.perf_counter() - started
    copy.unlink()
    return {"open_first_s": open_first_s, "open_ms": open_ms, "db_mb": db_mb, "vectors_mb": vectors_mb,
            "filters": filters, "columns_s": columns_s, "fetch_ms": fetch_ms, "search": search,
            "peak_rss_mb": memory["VmHWM"],
            "rss_anon_mb": memory.get("RssAnon", 0.0), "rss_file_mb": memory.get("RssFile", 0.0),
            "copy_s": copy_s}


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]))))
