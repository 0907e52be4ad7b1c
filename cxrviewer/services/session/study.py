"""The open study folder: its path, the study model the scan streams into, and the scan's end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from cxrviewer.imaging.study_tree import StudyTree
from cxrviewer.services.events import Event, Events

if TYPE_CHECKING:
    from cxrviewer.services.session import Session
    from cxrviewer.services.study import ScanBatch


class ScanSummary:
    """How a scan ended: "done", "error" (with ``reason``) or "cancelled"."""

    __slots__ = ("images", "issues", "outcome", "reason", "root", "seconds")

    def __init__(self, root: str, outcome: str, images: int, issues: int, seconds: float, reason: str = "") -> None:
        self.root, self.outcome, self.images, self.issues, self.seconds, self.reason = (
            root, outcome, images, issues, seconds, reason)

    def __repr__(self) -> str:
        return f"ScanSummary({self.root!r}, {self.outcome!r}, images={self.images}, issues={self.issues})"

    @property
    def text(self) -> str:
        """The status bar's line."""
        summary = f"{self.images:,} images"
        if self.issues:
            summary += f", {self.issues:,} files skipped (see Skipped)"
        if self.outcome == "error":
            summary = f"Scan stopped: {self.reason}. " + summary
        elif self.outcome == "cancelled":
            summary = "Scan cancelled. " + summary
        return f"{summary} — scanned in {self.seconds:.1f} s"


class StudyEvents(Events):
    opened: Event  # (root) a folder or file is being read; the tree has been emptied
    progress: Event  # (files scanned so far) a batch went into the tree
    finished: Event  # (ScanSummary) the scan ended (done, failed or cancelled)
    not_found: Event  # (path) nothing there to open


class StudySession:
    """``open(path)`` scans a folder (or one file) in the scan worker; ``tree`` fills as it goes."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.events = StudyEvents()
        self.tree = StudyTree()
        self.root: str | None = None
        self.scanning = False
        self.summary: ScanSummary | None = None
        self._started = 0.0

    def open(self, path: str) -> bool:
        """Start reading ``path``; False (and ``not_found``) when there is nothing there."""
        from cxrviewer.services import study as jobs

        path = str(Path(path).expanduser().resolve())
        if not Path(path).exists():
            self.events.not_found.emit(path)
            self._session.status(f"Not found: {path}")
            return False
        self.root = path
        self.summary = None
        self.scanning = True
        self.tree.clear()
        self._session.settings.remember_folder(jobs.folder_of(path))
        self._started = time.perf_counter()
        self.events.opened.emit(path)
        self._session.workers.scan.submit(
            jobs.scan_folder, path, channel="scan", on_partial=self._batch,
            on_done=lambda _: self._finished("done"), on_error=lambda exc: self._finished("error", str(exc)),
            on_cancelled=lambda: self._finished("cancelled"))
        return True

    def cancel(self) -> None:
        self._session.workers.scan.cancel_channel("scan")

    def _batch(self, batch: ScanBatch) -> None:
        self.tree.add_many(batch.items)
        self.events.progress.emit(batch.scanned)

    def _finished(self, outcome: str, reason: str = "") -> None:
        self.scanning = False
        self.summary = ScanSummary(self.root or "", outcome, self.tree.image_count, self.tree.issue_count(),
                                   time.perf_counter() - self._started, reason)
        self.events.finished.emit(self.summary)
