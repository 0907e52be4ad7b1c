"""The session model: everything the window shows, Qt-free and observable.

In the spirit of napari's ``ViewerModel`` and glue's state objects: the window's widgets observe
it (``session.film.events.opened.connect(viewer.show_image)``) and change it through its methods
(``session.open_path(folder)``, ``session.search.search(text, filters)``); tests and scripts drive
it headless (``Session(synchronous=True)`` runs every job inside the call that asks for it).

Its parts, each with its own ``events``:

- ``study`` (:class:`StudySession`): the open folder and the study model the scan streams into;
- ``film`` (:class:`FilmSession`): the film in the viewer, decoded once, its series and report;
- ``search`` (:class:`SearchSession`): library, route, filters, query, results, selection;
- the session itself: anonymise, corner overlays, status messages, and the worker threads.

A feature with state of its own (the teaching collections, the quiz) adds a part here and a
controller in ``gui/`` that observes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxrviewer.services.events import Event, Events
from cxrviewer.services.jobs import Workers
from cxrviewer.services.session.film import FilmSession, ReportView
from cxrviewer.services.session.search import SearchSession
from cxrviewer.services.session.study import ScanSummary, StudySession

if TYPE_CHECKING:
    from cxrviewer.services.jobs import Post
    from cxrviewer.services.session.teaching import TeachingSession
    from cxrviewer.settings import Settings

__all__ = ["FilmSession", "ReportView", "ScanSummary", "SearchSession", "Session", "StudySession"]


class SessionEvents(Events):
    anonymise: Event  # (on) hide identifying data everywhere
    overlays: Event  # (on) the viewer's corner overlays shown
    status: Event  # (text, milliseconds or 0 until replaced) a message for the status bar


class Session:
    """What one window (or one headless script) has open.

    Parameters
    ----------
    settings
        Read and updated as the user works (route, library, folders, anonymise); saved by the
        window, never here.
    post
        How job callbacks reach the thread that owns the session (the window: the GUI thread).
    synchronous
        Run each job inside the call that submits it (tests, scripts).
    """

    def __init__(self, settings: Settings | None = None, post: Post | None = None,
                 synchronous: bool = False) -> None:
        from cxrviewer import settings as settings_store

        self.settings = settings or settings_store.Settings()
        self.workers = Workers(post, synchronous)
        self.events = SessionEvents()
        self.anonymise = self.settings.anonymise
        self.show_overlays = self.settings.show_overlays
        self.study = StudySession(self)
        self.film = FilmSession(self)
        self.search = SearchSession(self)
        self._teaching: TeachingSession | None = None
        self.study.events.opened.connect(lambda _: self.film.clear())
        self.study.events.progress.connect(lambda _: self._show_first_film())
        self.study.events.finished.connect(self._scan_finished)
        self._closed = False

    @property
    def teaching(self) -> TeachingSession:
        """The teaching collections (``session.teaching``), loaded on first use."""
        if self._teaching is None:
            from cxrviewer.services.session.teaching import TeachingSession

            self._teaching = TeachingSession(self)
        return self._teaching

    def open_path(self, path: str) -> bool:
        """Read a study folder, DICOMDIR or film; its first film shows as soon as it is found."""
        return self.study.open(path)

    def _show_first_film(self) -> None:
        if self.film.path is None:
            first = self.study.tree.first_image()
            if first is not None:
                self.film.open(first.path)

    def _scan_finished(self, summary: ScanSummary) -> None:
        self.status(summary.text)
        self._show_first_film()

    def set_anonymise(self, on: bool) -> None:
        """One switch that hides identifying data everywhere: overlays, tree, tags, report, title."""
        self.settings.anonymise = on
        if on != self.anonymise:
            self.anonymise = on
            self.events.anonymise.emit(on)

    def set_overlays(self, on: bool) -> None:
        self.settings.show_overlays = on
        if on != self.show_overlays:
            self.show_overlays = on
            self.events.overlays.emit(on)

    def status(self, text: str, milliseconds: int = 0) -> None:
        self.events.status.emit(text, milliseconds)

    def is_idle(self) -> bool:
        """No job asked for is still to report (scans, films, thumbnails, searches...)."""
        return self.workers.is_idle()

    def shutdown(self) -> None:
        """End every worker thread, closing the library connections on their own threads."""
        if not self._closed:
            self._closed = True
            if self._teaching is not None:
                self._teaching.shutdown()
            self.workers.shutdown(last=self.search.closing_steps())

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
