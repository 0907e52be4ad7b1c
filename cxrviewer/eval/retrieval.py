"""``eval retrieval``: how well a library's search finds cases with the query's findings.

Queries are held-out cases (one split, ``test`` by default); the gallery is every case of the
other splits, which are patient-disjoint from the queries, and the query's own study is
excluded as well. So a query can never find itself or another film of its own study (the seeds'
tables queried images that sat in their own database).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cxrviewer.eval.metrics import DEFAULT_KS, QueryRun, retrieval_report
from cxrviewer.eval.relevance import judge_collection, set_counts
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Filters, Library, SearchRequest
from cxrviewer.library.prepare import film_input, load
from cxrviewer.library.store import findings_of_pattern

MODES = ("text", "image")


class NotEvaluable(LibraryError):
    """This mode cannot be evaluated on this library (no report text to query with, no finding
    model to read the films); the reason says why and what would make it possible."""


@dataclass(frozen=True)
class QueryCase:
    row: int
    case_id: str
    study_id: str
    findings: dict[str, str]
    text: str
    image: str = ""
    frame: int = 0


def held_out(library: Library, split: str, limit: int | None) -> list[QueryCase]:
    """The query cases: one per study of ``split`` (other films of a study are near-copies of
    the same query), in case-id order so runs are repeatable."""
    rows = library.store.db.execute(
        "SELECT row, case_id, study_id, pattern, impression, findings_text, image, frame FROM cases "
        "WHERE split = ? ORDER BY case_id", (split,)).fetchall()
    seen: set[str] = set()
    out: list[QueryCase] = []
    for row, case_id, study, pattern, impression, findings_text, image, frame in rows:
        if study in seen:
            continue
        seen.add(study)
        out.append(QueryCase(row, case_id, study, findings_of_pattern(pattern), impression or findings_text,
                             library.image_path(image), frame))
        if limit is not None and len(out) >= limit:
            break
    return out


def evaluate(library: Library, *, mode: str = "text", split: str = "test", route: str = "labels",
             ks: Sequence[int] = DEFAULT_KS, limit: int | None = 500, label_model: str = "",
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run every held-out query through ``library.search`` and score the rankings.

    Image queries use pixels only: an embedding route searches with the film's embedding; the
    findings route has the film read by a finding model (``label_model``), never the query
    case's own labels, which would be the answer.

    Raises
    ------
    NotEvaluable
        When the mode has nothing to run: no query case in ``split``, no report text for text
        queries (label-only datasets such as NIH), no finding model for image queries on the
        findings route.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    gallery_splits = tuple(s for s, _ in library.store.split_counts().items() if s != split)
    if not gallery_splits:
        raise ValueError(f"every case is in split {split!r}: there is no gallery to search")
    queries = held_out(library, split, limit)
    if not queries:
        raise NotEvaluable(library.folder, f"the library has no {split!r} cases to query with "
                                           f"(its splits: {', '.join(sorted(library.store.split_counts()))})")
    if mode == "text":
        queries = [q for q in queries if q.text.strip()]
        if not queries:
            raise NotEvaluable(library.folder, f"no {split} case has report text (impression or findings) "
                                               f"to query with: this library's cases carry labels only; "
                                               f"image search can be evaluated with a finding model "
                                               f"(--mode image --label-model MODEL)")
    reader = _film_reader(library, label_model) if mode == "image" and route == "labels" else None
    gallery = library.store.db.execute(
        f"SELECT pattern, COUNT(*) FROM cases WHERE split IN ({', '.join('?' * len(gallery_splits))}) "
        "GROUP BY pattern", gallery_splits).fetchall()
    counts = set_counts(findings_of_pattern(p) for p, n in gallery for _ in range(n))
    k_max = max(ks)
    runs: list[QueryRun] = []
    timings: list[float] = []
    for n, query in enumerate(queries, 1):
        filters = Filters(splits=gallery_splits, exclude_studies=(query.study_id,))
        started = time.perf_counter()
        if mode == "text":
            request = SearchRequest(text=query.text, k=k_max, filters=filters, route=route)
        elif reader is not None:
            pixels = film_input(load(query.image), reader.spec, query.frame)
            request = SearchRequest(image=pixels, k=k_max, filters=filters, route=route, label_model=label_model,
                                    image_synthetic=library.manifest.synthetic)
        else:
            request = SearchRequest(case_id=query.case_id, k=k_max, filters=filters, route=route)
        result = library.search(request)
        timings.append((time.perf_counter() - started) * 1000)
        runs.append(QueryRun(query.findings, [h.case.findings for h in result.hits],
                             judge_collection(query.findings, counts), query.case_id))
        if progress:
            progress(n, len(queries))
    report = retrieval_report(runs, ks, timings_ms=timings).as_dict()
    report.update({"mode": mode, "route": route,
                   "label_model": label_model if mode == "image" and route == "labels" else "", "query_split": split,
                   "gallery_splits": list(gallery_splits), "gallery_size": sum(n for _, n in gallery),
                   "library": library.name, "synthetic": library.manifest.synthetic})
    return report


def _film_reader(library: Library, label_model: str) -> Any:
    """The finding model that reads query films on the findings route: ``label_model``, else the
    library's own model when it has a finding head; a library with neither cannot be evaluated
    on images (a named model that fails to load is an error, not a reason to skip)."""
    if label_model:
        return library.label_model(label_model)
    try:
        return library.label_model("")
    except LibraryError:
        raise NotEvaluable(library.folder, "on the findings route a finding model reads each query film, and "
                                           "this library has none (it was built without a model): pass "
                                           "--label-model MODEL (e.g. demo-clip), or evaluate a library "
                                           "built with --encoder") from None
