"""``python -m cxrviewer.bench report_queries``: real impressions as findings-route queries.

Each IU dev report's impression is typed as a query; the other dev reports (findings +
impression) are the library. They are stored exactly as a library build stores them (the
labeler's findings and finding details per report, in a real ``Store``), and ranked by the real
``Library.search`` on the findings route, tie-breakers included; the query's own report is
left out of its results. Relevance comes from the Open-i gold labels (14 findings + ``normal``,
``normal`` counted as a finding):

- ``any_shared``: the query's and the hit's gold sets share a finding;
- ``exact``: the two gold sets are equal.

Queries whose gold set is empty (abnormal, none of the 15 columns) have nothing to share and
are not scored; nor is a query with no relevant report in its corpus under a rule. The same run
ranks the same corpus by TF-IDF cosine (the impression as the query) as the baseline. An
impression that gives an empty findings query returns no results and scores 0.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
IU_DIR = SHARED_DATA / "reports" / "iu"
RULES = ("any_shared", "exact")
ROUTES = ("findings_route", "tfidf")
_WORD_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class DevReport:
    """One dev report: its uid, impression (the query), body (the corpus text) and gold set."""

    uid: str
    impression: str
    body: str
    gold: frozenset[str]
    row: dict[str, str]


def load_dev_reports(reports_csv: Path, gold_csv: Path) -> list[DevReport]:
    """Dev reports with a gold row and some findings or impression text, in uid order."""
    from cxrviewer.reports.evaluate import read_csv, report_text

    reports = {r["uid"].strip(): r for r in read_csv(reports_csv, ("uid", "findings", "impression"), "reports")}
    out: list[DevReport] = []
    for g in read_csv(gold_csv, ("filename",), "gold"):
        uid = (g.get("filename") or "").strip()
        uid = uid[3:] if uid.upper().startswith("CXR") else uid
        row = reports.get(uid)
        if row is None or not report_text(row):
            continue
        gold = frozenset(c for c, v in g.items() if c != "filename" and str(v).strip() in ("1", "1.0"))
        out.append(DevReport(uid, (row.get("impression") or "").strip(), report_text(row), gold, row))
    return sorted(out, key=lambda r: (len(r.uid), r.uid))


# --------------------------------------------------------------------------- findings route


def build_library(reports: Sequence[DevReport], folder: Path) -> Any:
    """A label-route library of ``reports`` in ``folder``, written the way a build writes one:
    findings from ``labeled_findings`` and details from ``report_details`` (no images)."""
    from cxrviewer.datasets._tables import labeled_findings
    from cxrviewer.datasets.case import Case
    from cxrviewer.library.library import Library
    from cxrviewer.library.manifest import LABEL_ROUTE, Manifest
    from cxrviewer.library.prepare import report_details
    from cxrviewer.library.store import STORE_NAME, FindingDetail, PreparedCase, Store
    from cxrviewer.reports.sections import ReportSections

    store = Store(folder / STORE_NAME, create=True)
    batch = []
    for r in reports:
        sections = ReportSections.from_iu_row(r.row)
        case = Case(case_id=f"openi:{r.uid}", patient_id=r.uid, study_id=r.uid, image="",
                    dataset="openi", report=sections, findings=labeled_findings(sections),
                    findings_source="labeler")
        details = {label: FindingDetail(sev, side) for label, sev, side in report_details(sections.body)}
        batch.append(PreparedCase(case, details, b"", (0, 0)))
    store.add_batch(batch, [])
    manifest = Manifest(name="iu-dev-reports", route=LABEL_ROUTE, dim=0, state="ready")
    return Library(folder, manifest, store)


def findings_route_rankings(library: Any, queries: Sequence[DevReport], k: int) -> tuple[list[list[str]], list[bool]]:
    """Top-``k`` uids per query from ``Library.search``, and whether each query was empty."""
    from cxrviewer.library.library import Filters, SearchRequest

    ranked: list[list[str]] = []
    empty: list[bool] = []
    for q in queries:
        result = library.search(SearchRequest(text=q.impression, k=k,
                                              filters=Filters(exclude_studies=(q.uid,))))
        ranked.append([h.case.study_id for h in result.hits])
        empty.append(not result.query_findings)
    return ranked, empty


# --------------------------------------------------------------------------- TF-IDF baseline


def tokens(text: str) -> list[str]:
    """Lower-case words; the de-identification token ``xxxx`` is dropped."""
    return [w for w in _WORD_RE.findall(text.lower()) if w != "xxxx"]


class TfIdf:
    """TF-IDF vectors (raw counts x smoothed idf, L2-normalised) over a fixed corpus."""

    def __init__(self, documents: Sequence[str]) -> None:
        counts = [Counter(tokens(d)) for d in documents]
        df = Counter(w for c in counts for w in c)
        self.vocabulary = {w: i for i, w in enumerate(sorted(df))}
        n = len(documents)
        self.idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in sorted(df)], np.float32)
        self.matrix = np.vstack([self._vector(c) for c in counts]) if counts else np.zeros((0, len(df)), np.float32)

    def _vector(self, counts: Counter[str]) -> np.ndarray:
        v = np.zeros(len(self.vocabulary), np.float32)
        for w, n in counts.items():
            i = self.vocabulary.get(w)
            if i is not None:
                v[i] = n * self.idf[i]
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v

    def scores(self, text: str) -> np.ndarray:
        """Cosine of ``text`` with every document."""
        return self.matrix @ self._vector(Counter(tokens(text)))


def tfidf_rankings(reports: Sequence[DevReport], queries: Sequence[DevReport], k: int) -> list[list[str]]:
    """Top-``k`` uids per query by TF-IDF cosine, the query's own report left out; ties keep
    corpus order."""
    model = TfIdf([r.body for r in reports])
    index = {r.uid: i for i, r in enumerate(reports)}
    ranked: list[list[str]] = []
    for q in queries:
        s = model.scores(q.impression)
        s[index[q.uid]] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        ranked.append([reports[i].uid for i in top])
    return ranked


# --------------------------------------------------------------------------- scoring


def relevant(rule: str, query: frozenset[str], hit: frozenset[str]) -> bool:
    return bool(query & hit) if rule == "any_shared" else query == hit


def run(reports_csv: Path, gold_csv: Path, limit: int | None = None, k: int = 5) -> dict[str, Any]:
    """Rank every query both ways and score P@k under both rules."""
    from cxrviewer.eval.metrics import precision_at_k

    reports = load_dev_reports(reports_csv, gold_csv)
    queries = [r for r in reports if r.impression][:limit]
    gold = {r.uid: r.gold for r in reports}
    sets = Counter(r.gold for r in reports)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cxrviewer-report-queries-") as tmp:
        library = build_library(reports, Path(tmp))
        try:
            built = time.perf_counter()
            label_ranked, empty = findings_route_rankings(library, queries, k)
        finally:
            library.close()
    searched = time.perf_counter()
    rankings = {"findings_route": label_ranked, "tfidf": tfidf_rankings(reports, queries, k)}
    tfidf_seconds = time.perf_counter() - searched
    scores: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        per_route: dict[str, list[float]] = {route: [] for route in ROUTES}
        for n, q in enumerate(queries):
            others = sum(c for s, c in sets.items() if relevant(rule, q.gold, s)) - 1  # minus itself
            if not q.gold or others <= 0:
                continue
            for route in ROUTES:
                rel = [relevant(rule, q.gold, gold[uid]) for uid in rankings[route][n]]
                per_route[route].append(precision_at_k(rel, k))
        scores[rule] = {"queries": len(per_route["tfidf"]),
                        **{route: round(float(np.mean(v)), 4) if v else 0.0 for route, v in per_route.items()}}
    empty_texts = [q.impression for q, e in zip(queries, empty) if e]
    return {
        "k": k, "queries": len(queries), "corpus": len(reports) - 1, "precision_at_k": scores,
        "empty_queries": len(empty_texts),
        "empty_queries_with_gold_label": sum(1 for q, e in zip(queries, empty) if e and q.gold),
        "empty_examples": [t for t, _ in Counter(empty_texts).most_common(10)],
        "seconds": {"build": round(built - started, 2), "findings_route": round(searched - built, 2),
                    "tfidf": round(tfidf_seconds, 2)},
    }


def table(result: dict[str, Any]) -> str:
    k = result["k"]
    rows = [f"{result['queries']} impression queries, each against the other {result['corpus']} "
            f"IU dev reports (findings + impression)",
            f"{'relevance':<12} {'queries':>7} {'findings route P@' + str(k):>20} {'TF-IDF P@' + str(k):>12}"]
    for rule in RULES:
        s = result["precision_at_k"][rule]
        rows.append(f"{rule:<12} {s['queries']:7d} {s['findings_route']:20.3f} {s['tfidf']:12.3f}")
    rows.append(f"empty findings queries: {result['empty_queries']} "
                f"({result['empty_queries_with_gold_label']} of them with a gold label)")
    for text in result["empty_examples"]:
        rows.append(f"  {text!r}")
    sec = result["seconds"]
    rows.append(f"library build {sec['build']:.1f} s, findings route {sec['findings_route']:.1f} s, "
                f"TF-IDF {sec['tfidf']:.1f} s")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench report_queries",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=IU_DIR / "indiana_reports.csv", help="IU-layout CSV")
    parser.add_argument("--gold", type=Path, default=IU_DIR / "gold_labels_dev.csv",
                        help="gold labels (filename=CXR<uid>, 0/1 columns, normal)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the first N queries (default: every dev report with an impression)")
    parser.add_argument("--k", type=int, default=5, help="precision at this rank (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if (args.limit is not None and args.limit < 1) or args.k < 1:
        parser.error("--limit and --k must be at least 1")
    from cxrviewer.reports.evaluate import EvalInputError

    try:
        result = run(args.reports, args.gold, args.limit, args.k)
    except EvalInputError as exc:
        print(f"report_queries: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0
