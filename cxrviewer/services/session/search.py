"""The case search: the open library, its route and filters, the query and its results.

Every query, model load and build runs in the search worker (``services.search.SearchService``,
which owns the libraries and encoders); the library case of a film from disk and the gallery's
thumbnails come from the gallery worker's own connections (``FilmCases``, ``GalleryThumbnails``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cxrviewer.services.events import Event, Events

if TYPE_CHECKING:
    from cxrviewer.library.library import SearchRequest
    from cxrviewer.services.search import FilmCases, GalleryThumbnails, LibraryOpened, SearchOutcome, SearchService
    from cxrviewer.services.session import Session

EXAMPLE_QUERY = "Cardiomegaly with a small left pleural effusion."
PAGE = 100  # results asked for first; reaching the end of the gallery asks for ten times more
MAX_RESULTS = 1000
NO_FILTERS: dict[str, Any] = {}


LABEL_ROUTE = "labels"  # library.manifest.LABEL_ROUTE (a test holds them equal): the window
# starts without importing the library


def route_name(route: str) -> str:
    return "findings route" if route == LABEL_ROUTE else f"model {route}"


class SearchEvents(Events):
    message: Event  # (text) the search's state in words (the results pane's status line)
    progress: Event  # (done, total or None, message) a library opening or build at work
    progress_ended: Event  # ()
    library: Event  # (LibraryOpened or None) a library opened, or none could be
    route: Event  # (route) the route chosen ("labels" or a model's name)
    model: Event  # (text) the route's model: "loading model…", "findings route · CPU", ...
    query: Event  # (text) the session set the query itself (the first start's example)
    searching: Event  # (mode) a search was asked for: "query", "films" or "reports"
    results: Event  # (SearchOutcome, appended) a search's results, or more of the shown ones
    failed: Event  # (reason, appended) a search failed
    selected: Event  # (Hit or None) the result selected in the gallery


class SearchSession:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.events = SearchEvents()
        self._service: SearchService | None = None
        self._thumbs: GalleryThumbnails | None = None
        self._film_cases: FilmCases | None = None
        self.library: LibraryOpened | None = None
        self.route = session.settings.search_route or LABEL_ROUTE
        self.device = ""
        self.query = ""
        self.filters: dict[str, Any] = dict(NO_FILTERS)  # library.Filters fields
        self.outcome: SearchOutcome | None = None
        self.selected: Any = None  # the Hit selected in the gallery
        self.page = PAGE
        self._pending_query: str | None = None
        self._open_first_hit = False
        self._last_call: tuple[Callable[..., Any], tuple] | None = None
        self._appending = False
        self._building = ""

    # What the workers use, made on first use (the window shows before the library code loads).

    @property
    def service(self) -> SearchService:
        """The search worker's state: open libraries and encoders (used on that worker only)."""
        if self._service is None:
            from cxrviewer.services.search import SearchService

            self._service = SearchService()
        return self._service

    @property
    def thumbs(self) -> GalleryThumbnails:
        """The gallery's thumbnails, with their own connection (used on the gallery worker only)."""
        if self._thumbs is None:
            from cxrviewer.services.search import GalleryThumbnails

            self._thumbs = GalleryThumbnails()
        return self._thumbs

    @property
    def film_cases(self) -> FilmCases:
        """The library case of a film from disk (used on the gallery worker only)."""
        if self._film_cases is None:
            from cxrviewer.services.search import FilmCases

            self._film_cases = FilmCases()
        return self._film_cases

    # -- libraries and routes -------------------------------------------------------------------

    def start(self, library: str | None = None, query: str | None = None) -> None:
        """Open the user's library (the demo on a first start) and then run ``query``, if any."""
        self._pending_query = query
        self.open_library(library if library is not None else self._session.settings.search_library)

    def open_library(self, name_or_path: str | None) -> None:
        self.events.message.emit("Opening the case library…")
        self._submit(self.service.open_library, name_or_path or None, channel="library",
                     on_done=self._library_opened, on_error=self._library_failed,
                     on_cancelled=self._library_cancelled, on_progress=self._progress)

    def build(self, dataset: str, root: str, name: str, encoder: str = "") -> None:
        """Build a library in the search worker (with progress and cancel), then switch to it."""
        from cxrviewer.library import catalog

        self._building = name
        self.events.message.emit(f"Building {name}…")
        self._submit(self.service.build, dataset, root, str(catalog.default_out(name)), name, encoder,
                     channel="build", on_done=self._library_opened, on_progress=self._progress,
                     on_error=self._build_failed, on_cancelled=self._build_cancelled)

    def cancel(self) -> None:
        """Stop what the search worker is doing (a build, a library's opening)."""
        self._session.workers.search.cancel_all()

    def set_route(self, route: str) -> None:
        self.route = route
        self._session.settings.search_route = route
        self.events.route.emit(route)
        if self.library is not None:
            self._warm()
            if self.query.strip():
                self.search(self.query)

    def _progress(self, done: float, total: float | None, message: str) -> None:
        self.events.progress.emit(done, total, message)
        self.events.message.emit(message + "…")

    def _library_opened(self, opened: LibraryOpened) -> None:
        self.events.progress_ended.emit()
        self.library = opened
        self._session.settings.search_library = opened.path
        if self.route not in opened.routes:
            self.route = opened.default_route
            self.events.route.emit(self.route)
        self.events.library.emit(opened)
        self.events.message.emit(f"{opened.name}: {opened.count:,} cases. Type an impression and press Enter.")
        self._warm()
        self._session.film.library_opened(opened.path)
        query, self._pending_query = self._pending_query, None
        session = self._session
        if query is None and opened.synthetic and session.film.path is None and session.study.root is None:
            query = EXAMPLE_QUERY  # a first start: show every part of the window at work
        if query:
            self.query = query
            self.events.query.emit(query)
            self._open_first_hit = session.film.path is None
            self.search(query)

    def _library_failed(self, exc: BaseException) -> None:
        self.events.progress_ended.emit()
        self.library = None
        self.events.library.emit(None)
        self.events.message.emit(f"The library could not be opened: {exc}")

    def _library_cancelled(self) -> None:
        self.events.progress_ended.emit()
        self.events.message.emit("Opening the library was cancelled.")

    def _build_failed(self, exc: BaseException) -> None:
        self.events.progress_ended.emit()
        self.events.message.emit(f"Building {self._building} failed: {exc}")

    def _build_cancelled(self) -> None:
        """Not "opening the library was cancelled": the build was, and what it made is kept."""
        self.events.progress_ended.emit()
        self.events.message.emit(f"Building {self._building} was cancelled. The films added so far are kept: "
                                 f"build {self._building} again to resume where it stopped.")

    def _warm(self) -> None:
        assert self.library is not None
        self.events.model.emit("loading model…" if self.route != LABEL_ROUTE else "")
        self._submit(self.service.warm_up, self.library.path, self.route, channel="warm",
                     on_done=self._warmed, on_error=self._warm_failed)

    def _warmed(self, device: str) -> None:
        self.device = device
        self.events.model.emit(f"{route_name(self.route)} · {device}")

    def _warm_failed(self, exc: BaseException) -> None:
        self.events.model.emit("model unavailable")
        self.events.message.emit(f"The model could not be loaded: {exc}")

    # -- queries --------------------------------------------------------------------------------

    def request(self, **changes: Any) -> SearchRequest:
        from cxrviewer.library.library import Filters, SearchRequest

        return SearchRequest(k=changes.pop("k", self.page), filters=Filters(**self.filters), route=self.route,
                             **changes)

    def search(self, text: str, filters: dict[str, Any] | None = None) -> None:
        """Find the cases nearest to a typed impression (with these filters, when given)."""
        self.query = text.strip()
        if filters is not None:
            self.filters = dict(filters)
        if self.library is None:
            self._pending_query = self.query
            return
        if not self.query:
            return
        self._run("query", self.service.search, self.library.path, self.request(text=self.query), self.query)

    def similar(self, mode: str = "films") -> None:
        """Films (``mode`` "films") or their reports ("reports") nearest to the film shown."""
        film = self._session.film
        if self.library is None:
            self.events.message.emit("No library is open yet.")
            return
        if not film.path:
            self.events.message.emit("Open a film first: similar films are found for the film in the viewer.")
            return
        from pathlib import Path

        case = film.library_case
        if case is not None and case.image == film.path and Path(self.library.path) == Path(film.library_case_source):
            self._run(mode, self.service.search, self.library.path, self.request(case_id=case.case_id),
                      f"films like {case.case_id}")
            return
        report = film.report_view().report
        decoded = film.opened.image if film.opened is not None else film.path  # never decoded twice
        self._run(mode, self.service.similar_to_film, self.library.path, decoded, self.request(),
                  report.text if report is not None else "")

    def more(self) -> None:
        """The gallery reached its end: run the shown search again for up to ``MAX_RESULTS`` and
        add what is new. Nothing to do when the last run returned fewer than it asked for."""
        from cxrviewer.library.library import SearchRequest

        outcome, call = self.outcome, self._last_call
        if self._appending or outcome is None or call is None or self.library is None:
            return
        fn, args = call
        asked = next((a for a in args if isinstance(a, SearchRequest)), None)
        if asked is None or asked.k >= MAX_RESULTS or len(outcome.hits) < outcome.request.k:
            return
        bigger = dataclasses.replace(asked, k=min(MAX_RESULTS, asked.k * 10))
        args = tuple(bigger if a is asked else a for a in args)
        self._last_call, self._appending = (fn, args), True
        self.events.message.emit("More results…")
        self._submit(fn, *args, channel="search", on_done=self._searched, on_error=self._search_failed,
                     on_cancelled=self._search_cancelled)

    def _run(self, mode: str, fn: Callable[..., Any], *args: Any) -> None:
        self._session.workers.gallery.cancel_channel("gallery")
        self.events.searching.emit(mode)
        self.events.message.emit("Searching…")
        self._last_call, self._appending = (fn, args), False
        self._submit(fn, *args, channel="search", on_done=self._searched, on_error=self._search_failed,
                     on_cancelled=self._search_cancelled)

    def _searched(self, outcome: SearchOutcome) -> None:
        self.outcome = outcome
        if self._appending:
            self._appending = False
            self.events.results.emit(outcome, True)
            return
        self.selected = None
        self.events.results.emit(outcome, False)
        self._session.status(
            f"{len(outcome.hits)} results in {outcome.seconds * 1000:.0f} ms · {route_name(outcome.model)} · "
            f"{outcome.device}" + (f" · licence: {outcome.licence}" if outcome.licence else ""), 8000)
        if self._open_first_hit and outcome.hits and self._session.study.root is None and self.library:
            # The first start's example shows its best match, unless the user opened a film (or
            # a folder) while it ran: that one stays in the viewer.
            self._session.film.open_case(outcome.hits[0].case, self.library.path)
        self._open_first_hit = False

    def _search_failed(self, exc: BaseException) -> None:
        appending, self._appending = self._appending, False  # a failed "more" keeps what is shown
        self.events.failed.emit(getattr(exc, "reason", None) or str(exc), appending)

    def _search_cancelled(self) -> None:
        self._appending = False

    # -- results ----------------------------------------------------------------------------------

    def select(self, hit: Any) -> None:
        """The result the user is looking at in the gallery (what "explain" can target)."""
        self.selected = hit
        self.events.selected.emit(hit)

    def activate(self, hit: Any) -> None:
        """Open a result's film in the viewer, with its library case."""
        if hit is not None and self.library is not None:
            self.select(hit)
            self._session.film.open_case(hit.case, self.library.path)

    # -- plumbing ---------------------------------------------------------------------------------

    def _submit(self, fn: Callable[..., Any], *args: Any, channel: str, **callbacks: Any) -> None:
        self._session.workers.search.submit(fn, *args, channel=channel, **callbacks)

    def closing_steps(self) -> dict[str, Callable[[], None]]:
        """What closes this session's connections, on the threads that use them (after their
        last job: a "close" job submitted at shutdown would be cancelled with the rest)."""
        return {"search": self._close_service, "gallery": self._close_gallery}

    def _close_service(self) -> None:
        if self._service is not None:
            self._service.close()

    def _close_gallery(self) -> None:
        if self._thumbs is not None:
            self._thumbs.close()
        if self._film_cases is not None:
            self._film_cases.close()
