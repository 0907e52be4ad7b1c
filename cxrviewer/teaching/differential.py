"""The quiz's "differential" strip: films that look like the case but whose findings differ,
so the student sees what they said next to what it is.

Similar films come from the library's model route when it has one (by the case's film), else
from the findings route with the case's report as the query. Films with the same finding set
as the case are dropped. When the answer named findings the case does not have, films found
for the answer's own words join the strip, and films that show what the student named come
first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cxrviewer.reports.labels import NO_FINDING
from cxrviewer.teaching.model import KnownFinding
from cxrviewer.teaching.quiz import OVERCALLED, Verdict

SEARCH_FACTOR = 5  # candidates fetched per film shown


@dataclass(frozen=True)
class DifferentialFilm:
    case_id: str  # the library's case id
    findings: tuple[str, ...]  # labels present (positive)
    impression: str
    route: str  # the route that found it, or "answer" for a search by the student's words
    shows_answer: tuple[str, ...] = ()  # the student's overcalled labels this film has

    def to_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "findings": list(self.findings), "impression": self.impression,
                "route": self.route, "shows_answer": list(self.shows_answer)}


def finding_set(findings: dict[str, str] | Iterable[KnownFinding]) -> frozenset[str]:
    """The labels present (positive), No Finding when none is."""
    if isinstance(findings, dict):
        present = {label for label, status in findings.items() if status == "positive"}
    else:
        present = {k.label for k in findings if k.status == "positive"}
    present.discard(NO_FINDING)
    return frozenset(present) or frozenset({NO_FINDING})


def differential(library: Any, truth: Iterable[KnownFinding], report: str, k: int = 5,
                 library_case_id: str = "", verdict: Verdict | None = None) -> list[DifferentialFilm]:
    """Up to ``k`` films of ``library`` similar to the case whose findings differ from ``truth``."""
    from cxrviewer.library.library import SearchRequest
    from cxrviewer.library.manifest import LABEL_ROUTE

    truth = tuple(truth)
    own = finding_set(truth)
    excluded = {library_case_id}
    similar = _similar(library, report, truth, k * SEARCH_FACTOR, library_case_id)
    films: list[DifferentialFilm] = []
    overcalled = set(verdict.labels(OVERCALLED)) if verdict is not None else set()
    searches = [similar]
    if overcalled and verdict is not None and verdict.answer.strip():
        searches.append(("answer", _hits(library, SearchRequest(text=verdict.answer, k=k * SEARCH_FACTOR,
                                                                route=LABEL_ROUTE))))
    for route, hits in searches:
        for hit in hits:
            case = hit.case
            present = finding_set(case.findings)
            if case.case_id in excluded or present == own:
                continue
            excluded.add(case.case_id)
            films.append(DifferentialFilm(case.case_id, tuple(sorted(present)), case.impression, route,
                                          tuple(sorted(overcalled & present))))
    films.sort(key=lambda f: not f.shows_answer)  # stable: similarity order within each group
    return films[:k]


def _similar(library: Any, report: str, truth: tuple[KnownFinding, ...], n: int,
             library_case_id: str) -> tuple[str, list[Any]]:
    from cxrviewer.library.library import SearchRequest
    from cxrviewer.library.manifest import LABEL_ROUTE

    routes = library.routes()
    if library_case_id and routes[0] != LABEL_ROUTE:
        hits = _hits(library, SearchRequest(case_id=library_case_id, k=n, route=routes[0]))
        if hits:
            return routes[0], hits
    query = report.strip() or ", ".join(k.label for k in truth if k.status == "positive") or "normal chest"
    return LABEL_ROUTE, _hits(library, SearchRequest(text=query, k=n, route=LABEL_ROUTE))


def _hits(library: Any, request: Any) -> list[Any]:
    """The search's hits; a route that cannot run here (no model, a refused film) gives none."""
    from cxrviewer.library.errors import LibraryError

    try:
        return list(library.search(request).hits)
    except (LibraryError, ImportError, OSError, RuntimeError, ValueError):
        return []
