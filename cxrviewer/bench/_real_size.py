"""Building from films of real size (``bench library --real-size``).

Real datasets are large films: MIMIC-CXR-JPG about 2,500 x 3,000 px JPEGs, PadChest 16-bit PNGs,
hospital DICOMs. This writes such films in each format (the demo phantom drawn at 3,000 px, cut to
2,500 x 3,000, shifted per copy so no two films are alike), then measures in one run, interleaved:

- the full-decode bound: decode every film completely, window, shrink to the thumbnail;
- the reduced-decode bound: decode only what the 256 px target needs (JPEG: DCT scaling);
- the whole build (read, decode, window, thumbnail, label, write) with the same processes, less
  the fixed cost of any build (starting its worker processes, opening the store), measured as the
  build of two films of the same format.

Goal: the build reaches >= 0.8 of the reduced-decode bound. A 224,000-film estimate follows.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROWS, COLS = 3000, 2500
FORMATS = ("jpeg", "png", "dicom")
REPORTS = ("Small left pleural effusion.", "The heart is enlarged.", "No acute cardiopulmonary process.",
           "Right lower lobe consolidation.")


def _phantoms(count: int) -> list[np.ndarray]:
    from cxrviewer.demo import plan_cases, render_plan

    out = []
    for plan in plan_cases(count, seed=5)[:count]:
        pixels = render_plan(plan, ROWS).pixels  # 12-bit, MONOCHROME2, ROWS x ROWS
        left = (ROWS - COLS) // 2
        out.append(np.ascontiguousarray(pixels[:, left:left + COLS]))
    return out


def write_films(root: Path, fmt: str, films: int, phantoms: list[np.ndarray]) -> Path:
    """``films`` studies of one format under ``root``/fmt, each with a report.txt."""
    from PIL import Image

    from cxrviewer.imaging.synthetic import SyntheticStudy, write_dicom

    folder = root / fmt
    rng = np.random.default_rng(0)
    for i in range(films):
        base = phantoms[i % len(phantoms)]
        pixels = np.roll(base, (int(rng.integers(-40, 40)), int(rng.integers(-40, 40))), axis=(0, 1))
        study = folder / f"P{i:05d}" / "study"
        study.mkdir(parents=True, exist_ok=True)
        if fmt == "jpeg":  # 8-bit grey at quality 95, as MIMIC-CXR-JPG
            Image.fromarray((pixels >> 4).astype(np.uint8)).save(study / "film.jpg", quality=95)
        elif fmt == "png":  # 16-bit grey, as PadChest
            Image.fromarray(pixels.astype(np.uint16) << 4).save(study / "film.png")
        else:
            write_dicom(study / "film.dcm", pixels.astype(np.uint16),
                        study=SyntheticStudy(patient_id=f"P{i:05d}"), bits_stored=12, window=(2048, 4096))
        (study / "report.txt").write_text(f"IMPRESSION: {REPORTS[i % len(REPORTS)]}\n", encoding="utf-8")
    return folder


def _bound_job(job: tuple[str, int, int, bool]) -> int:
    from cxrviewer.library.prepare import decode_and_shrink

    return int(decode_and_shrink(*job).size)


def _timed_pool(jobs: list[tuple[str, int, int, bool]], workers: int) -> float:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_bound_job, jobs[:workers]))  # workers started and warm before timing
        started = time.perf_counter()
        list(pool.map(_bound_job, jobs, chunksize=2))
        return time.perf_counter() - started


def bench_real_size(films: int, workers: int, repeats: int = 2) -> dict[str, dict[str, float]]:
    from cxrviewer.library.build import BuildOptions, build_library, read_dataset

    print(f"real-size films: {films} per format, {COLS} x {ROWS} px, {workers} worker processes")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="cxrviewer-realsize-") as tmp:
        started = time.perf_counter()
        phantoms = _phantoms(4)
        roots = {fmt: write_films(Path(tmp), fmt, films, phantoms) for fmt in FORMATS}
        print(f"  wrote them in {time.perf_counter() - started:.0f} s")
        for fmt, root in roots.items():
            cases, _ = read_dataset("folder", root)
            n = len(cases)
            full_jobs = [(c.image, c.frame, 256, False) for c in cases]
            reduced_jobs = [(c.image, c.frame, 256, True) for c in cases]
            full: list[float] = []
            reduced: list[float] = []
            builds: list[float] = []
            fixed: list[float] = []
            out = Path(tmp) / f"library-{fmt}"
            two = Path(tmp) / f"two-{fmt}"
            if not two.exists():
                shutil.copytree(root / "P00000", two / "P00000")
                shutil.copytree(root / "P00001", two / "P00001")
            for _ in range(repeats):  # interleaved: the machine's drifting load hits all of them alike
                full.append(_timed_pool(full_jobs, workers))
                reduced.append(_timed_pool(reduced_jobs, workers))
                for source, times in ((root, builds), (two, fixed)):
                    shutil.rmtree(out, ignore_errors=True)
                    t = time.perf_counter()
                    build_library(BuildOptions("folder", source, out, workers=workers))
                    times.append(time.perf_counter() - t)
            f, r, b, c = (float(np.median(v)) for v in (full, reduced, builds, fixed))
            pipeline = (n - 2) / max(b - c, 1e-9)
            row = {"full_bound": n / f, "reduced_bound": n / r, "build": pipeline, "whole_build": n / b,
                   "fixed_cost_s": c, "build_ratio": pipeline / (n / r), "estimate_224k_h": 224_000 / pipeline / 3600}
            results[fmt] = row
            print(f"  {fmt:5s}: full decode {row['full_bound']:.1f} films/s, reduced decode "
                  f"{row['reduced_bound']:.1f} films/s ({f / r:.1f}x faster), build {pipeline:.1f} films/s "
                  f"= {row['build_ratio']:.2f} of the reduced bound (goal >= 0.8; fixed cost {c:.1f} s per build "
                  f"left out, {row['whole_build']:.1f} films/s with it); 224,000 such films: "
                  f"~{row['estimate_224k_h']:.1f} h on {workers} processes")
    return results
