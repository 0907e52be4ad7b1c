"""The findings route at real scale (``bench library``): query time against the case-by-case
reference, in one run, on a label-only library with CheXpert's prevalences (as one built from the
real CheXpert table) of ``n`` cases.

Goals: at most 30 ms at 224,000 cases and 100 ms at 1,000,000 (the ``seconds`` of
``search --json``), with the same ranking as the reference (the tests hold them equal).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

QUERIES = ("large left pleural effusion", "no acute cardiopulmonary process", "mild cardiomegaly",
           "no pneumothorax", "moderate pulmonary edema, small bilateral effusions",
           "right lower lobe consolidation, possible pneumonia")
REPEATS = 7


def bench_findings_route(n: int, reference: bool = True) -> dict[str, float]:
    from cxrviewer.bench._label_library import write_label_library
    from cxrviewer.library import label_route as LR
    from cxrviewer.library.label_index import rank_reference
    from cxrviewer.library.library import Library, SearchRequest

    print(f"findings route: {n:,} label-only cases, CheXpert-like findings, k=100")
    goal_ms = 30.0 if n <= 224_000 else 100.0
    with tempfile.TemporaryDirectory(prefix="cxrviewer-findings-") as tmp:
        started = time.perf_counter()
        folder = write_label_library(Path(tmp) / "library", n)
        print(f"  wrote the library in {time.perf_counter() - started:.0f} s")
        with Library.open(folder) as library:
            started = time.perf_counter()
            library.label_index()
            load_s = time.perf_counter() - started
            print(f"  arrays loaded on the first query: {load_s:.2f} s ({len(library.label_index().patterns):,} "
                  "finding patterns)")
            worst = 0.0
            for text in QUERIES:
                times = []
                for _ in range(REPEATS):
                    result = library.search(SearchRequest(text=text, k=100))
                    times.append(result.seconds)
                ms = 1000 * float(np.median(times))
                worst = max(worst, ms)
                line = f"  {text!r}: {result.candidates:,} candidates, {ms:.1f} ms (median of {REPEATS})"
                if reference and text == QUERIES[0]:
                    t = time.perf_counter()
                    rank_reference(library, LR.query_from_text(text), "", [], 100)
                    ref_ms = 1000 * (time.perf_counter() - t)
                    line += f"; case by case {ref_ms:.0f} ms => {ref_ms / ms:.0f}x"
                print(line)
    print(f"  => slowest query {worst:.1f} ms (goal <= {goal_ms:.0f} ms at this size)")
    return {"worst_ms": worst, "load_s": load_s}
