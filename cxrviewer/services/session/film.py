"""The film in the viewer: which one, decoded (once, for the viewer and the model jobs alike), its
series, and what is known about it (the library case it is, the report found beside it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxrviewer.services.events import Event, Events

if TYPE_CHECKING:
    from collections.abc import Callable

    from cxrviewer.services.session import Session
    from cxrviewer.services.study import OpenedImage, StudyReport
    from cxrviewer.teaching.model import Presentation

LOOKING = "Looking for a report…"


class ReportView:
    """What the report pane shows: a report, or a message (empty: the pane's "none found")."""

    __slots__ = ("message", "pending", "report")

    def __init__(self, report: StudyReport | None = None, message: str = "", pending: bool = False) -> None:
        self.report, self.message, self.pending = report, message, pending

    def __repr__(self) -> str:
        return f"ReportView({self.report!r}, {self.message!r}, pending={self.pending})"

    @property
    def stated(self) -> dict[str, str]:
        """The findings the report states (label -> status), for the findings panel."""
        return dict(self.report.findings) if self.report is not None else {}


class FilmEvents(Events):
    changed: Event  # (path) a film was chosen; it is being decoded
    opened: Event  # (OpenedImage) the film is decoded: the viewer shows it, model jobs read it
    failed: Event  # (path, reason) it cannot be shown
    series: Event  # (paths) the film belongs to another series than the last one (the strip)
    report: Event  # (ReportView) what the report pane shows changed
    cleared: Event  # () no film (a new folder is being read)
    presentation: Event  # (Presentation) how the film is shown changed (window, zoom, turn, frame...)
    present: Event  # (Presentation) show the film this way (a key image shown again as it was saved)


class FilmSession:
    """``open(path)`` decodes a film in the image worker; ``opened`` is then that decoded film."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.events = FilmEvents()
        self.path: str | None = None
        self.opened: OpenedImage | None = None
        self.series: list[str] = []
        self.open_seconds = 0.0  # asked to decoded, for the last film shown
        self.library_case: Any = None  # library.store.CaseRow of the film, from a search or looked up
        self.library_case_source = ""  # the library it is a case of
        self.presentation: Presentation | None = None  # how the viewer shows it (teaching.model)
        self._study_key: str | None = None
        self._file_report: StudyReport | None = None
        self._file_report_state = "pending"  # "pending", "done", or why it could not be read
        self._case_lookup = ""  # the film whose case the open library is being asked for
        self._open_started = 0.0

    # -- choosing a film --------------------------------------------------------------------------

    def clear(self) -> None:
        self.path, self.opened, self.series, self.presentation = None, None, [], None
        self.library_case = None
        self._study_key = None
        self._file_report, self._file_report_state = None, "pending"
        self.events.cleared.emit()

    def open(self, path: str) -> None:
        """Show the film at ``path`` (one the study tree lists, or any film)."""
        from cxrviewer.services import study as jobs

        if not path:
            return
        session = self._session
        self.path, self.opened, self.presentation = path, None, None
        self._open_started = time.perf_counter()
        self.events.changed.emit(path)
        tree = session.study.tree
        series = tree.series_paths(path)
        if series != self.series:
            self.series = series
            self.events.series.emit(series)
        session.workers.image.submit(jobs.open_image, path, channel="image", on_done=self._decoded,
                                     on_error=lambda exc: self._failed(path, exc))
        study = tree.study_of(path)
        study_key = study.key if study is not None else jobs.folder_of(path)
        if study_key != self._study_key:
            self._study_key = study_key
            reports = [r.path for r in study.reports] if study is not None else []
            self._file_report, self._file_report_state = None, "pending"
            session.workers.image.submit(jobs.load_report, tree.study_paths(path), reports, channel="report",
                                         on_done=self._report_read, on_error=self._report_failed)
        self._look_up_case(path)

    def open_case(self, case: Any, library_path: str) -> None:
        """Show a library case: its film, and the report the library holds for it (datasets keep
        reports in tables and text trees the study folder does not have)."""
        self._session.study.open(case.image)
        self.library_case, self.library_case_source = case, library_path
        if self.path == case.image:  # shown already (a synchronous session opens it at once)
            self.events.report.emit(self.report_view())

    def step(self, delta: int) -> None:
        """The next (``delta`` 1) or previous (-1) film of the series."""
        if self.path not in self.series:
            return
        index = self.series.index(self.path) + delta
        if 0 <= index < len(self.series):
            self.open(self.series[index])

    def note_presentation(self, presentation: Presentation | None) -> None:
        """The view reports how it shows the film now (after the user's window/level, zoom...)."""
        if presentation != self.presentation:
            self.presentation = presentation
            if presentation is not None:
                self.events.presentation.emit(presentation)

    def show_presentation(self, presentation: Presentation) -> None:
        """Ask the view to show the film this way; it reports back through ``note_presentation``."""
        if self.opened is not None:
            self.events.present.emit(presentation)

    def _decoded(self, opened: OpenedImage) -> None:
        self.opened = opened
        self.open_seconds = time.perf_counter() - self._open_started
        self.events.opened.emit(opened)
        if opened.image.warnings:
            self._session.status("Shown with a warning: " + "; ".join(opened.image.warnings))

    def _failed(self, path: str, exc: BaseException) -> None:
        reason = getattr(exc, "reason", None) or f"cannot decode: {exc}"
        self.events.failed.emit(path, reason)
        self._session.status(f"Cannot show this image: {reason}")

    # -- what is known about it ---------------------------------------------------------------------

    def _report_read(self, report: StudyReport | None) -> None:
        self._file_report, self._file_report_state = report, "done"
        self.events.report.emit(self.report_view())

    def _report_failed(self, exc: BaseException) -> None:
        self._file_report, self._file_report_state = None, f"The report could not be read: {exc}"
        self.events.report.emit(self.report_view())

    def report_view(self) -> ReportView:
        """The film's library case (the dataset's report and labels) first, else the report found
        with the study's files, else why there is none."""
        report = self._library_report() or self._file_report
        if report is not None:
            return ReportView(report)
        if self._file_report_state == "pending" or (self._case_lookup and self._case_lookup == self.path):
            return ReportView(None, LOOKING, pending=True)
        if self._file_report_state != "done":
            return ReportView(None, self._file_report_state)
        return ReportView()

    def _library_report(self) -> StudyReport | None:
        from cxrviewer.services.study import library_report

        case = self.library_case
        if case is None or case.image != self.path:
            return None
        return library_report(case, Path(self.library_case_source).name)

    def redactor(self) -> Callable[[str], str] | None:
        """Hides the film's patient's name and IDs in a text (the report), when known."""
        from cxrviewer.imaging.anonymise import redact_text

        header = self._session.study.tree.headers.get(self.path) if self.path else None
        if header is None:
            return None
        return lambda text: redact_text(text, header)

    def _look_up_case(self, path: str) -> None:
        """A film not opened from a search may still be a case of the open library (a dataset's
        folder opened from disk): ask the library, whose labels and report it then shows."""
        case = self.library_case
        if case is not None and case.image == path:
            return
        self.library_case = None
        self._case_lookup = ""
        search = self._session.search
        if search.library is not None:
            self._case_lookup = path
            self._session.workers.gallery.submit(
                search.film_cases.find, search.library.path, path, channel="film_case",
                on_done=lambda found: self._case_found(found[0], found[1],  # (film path, case or None)
                                                       search.library.path if search.library else ""),
                on_error=lambda _: self._case_found(path, None, ""),
                on_cancelled=lambda: self._case_found(path, None, ""))
        if case is not None and self._file_report_state != "pending":
            self.events.report.emit(self.report_view())  # not the last film's labels meanwhile

    def _case_found(self, path: str, case: Any, library_path: str) -> None:
        if path != self.path:
            return
        self._case_lookup = ""
        if case is not None:
            self.library_case, self.library_case_source = case, library_path
        self.events.report.emit(self.report_view())

    def library_opened(self, library_path: str) -> None:
        """A library (and the finding model it brings) opened: the film shown before it gets
        what it gets when the library comes first, its library case."""
        if self.library_case is not None and Path(self.library_case_source) != Path(library_path):
            self.library_case = None  # a case of the library open before
        if self.path:
            self._look_up_case(self.path)
