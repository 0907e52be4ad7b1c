"""Exporting a collection (HTML handout, PowerPoint deck, portable archive) and a quiz
session's results (CSV): the entry points the command line and the window call."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.teaching.export_common import ANONYMISED_NOTE, EXPORT_FORMATS, Progress, prepare
from cxrviewer.teaching.model import TeachingError
from cxrviewer.teaching.store import TeachingStore

RESULT_COLUMNS = ("attempt", "session", "case", "title", "answer", "score", "found", "missed",
                  "overcalled", "side_wrong", "severity_wrong", "answered_at")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    cases: int
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "cases": self.cases,
                "anonymised": True, "note": ANONYMISED_NOTE, "warnings": list(self.warnings)}


def export_collection(store: TeachingStore, name_or_id: str | int, fmt: str, out: str | Path,
                      progress: Progress | None = None) -> ExportResult:
    """Write the collection as ``fmt`` (html, pptx or zip) to ``out``; always anonymised."""
    if fmt not in EXPORT_FORMATS:
        raise TeachingError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    plan = prepare(store, name_or_id, progress=progress)
    out = Path(out)
    if fmt == "html":
        from cxrviewer.teaching.export_html import write_html

        write_html(plan, out)
    elif fmt == "pptx":
        from cxrviewer.teaching.export_pptx import write_pptx

        write_pptx(plan, out)
    else:
        from cxrviewer.teaching.archive import write_archive

        write_archive(plan, out, secrets.token_hex(16))
    warnings = tuple(f"{c.heading}: {w}" for c in plan.cases for w in c.warnings)
    return ExportResult(out, fmt, len(plan.cases), warnings)


def results_csv(store: TeachingStore, session_id: str = "", collection_id: int | None = None) -> str:
    """Quiz attempts (one session's, or a collection's) as CSV, one row per answer."""
    titles = {}
    for attempt in store.attempts(session_id, collection_id):
        if attempt.case_id not in titles:
            try:
                titles[attempt.case_id] = store.case(attempt.case_id).teaching.title
            except TeachingError:
                titles[attempt.case_id] = ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for a in store.attempts(session_id, collection_id):
        findings = a.verdict.get("findings", [])
        writer.writerow([a.attempt_id, a.session_id, a.case_id, titles.get(a.case_id, ""), a.answer,
                         f"{a.score:.3f}", "; ".join(a.verdict.get("found", [])),
                         "; ".join(a.verdict.get("missed", [])), "; ".join(a.verdict.get("overcalled", [])),
                         "; ".join(f["label"] for f in findings if f.get("side") == "wrong"),
                         "; ".join(f["label"] for f in findings if f.get("severity") == "wrong"),
                         _iso(a.at)])
    return out.getvalue()


def write_results_csv(store: TeachingStore, out: str | Path, session_id: str = "",
                      collection_id: int | None = None) -> Path:
    out = Path(out)
    atomic_write_text(out, results_csv(store, session_id, collection_id))
    return out


def _iso(seconds: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")
