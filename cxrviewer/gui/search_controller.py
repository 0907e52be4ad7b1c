"""Connects the results pane to the search worker: libraries, routes, queries, gallery thumbnails,
"similar films", and comparison. Widgets live here on the GUI thread; every query, model load and
thumbnail read runs in ``services.search`` on worker threads and comes back as plain data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton

from cxrviewer.gui.bridge import ExecutorBridge
from cxrviewer.gui.study_browser import array_to_qimage
from cxrviewer.library.manifest import LABEL_ROUTE
from cxrviewer.services import JobEvent
from cxrviewer.services.search import FilmCases, GalleryThumbnails, SearchService

if TYPE_CHECKING:
    from cxrviewer.gui.main_window import MainWindow

EXAMPLE_QUERY = "Cardiomegaly with a small left pleural effusion."
PAGE = 100  # results asked for first; scrolling to the end asks for ten times more
MAX_RESULTS = 1000


class SearchController(QObject):
    """Owns the search and gallery-thumbnail workers of one main window."""

    outcomeShown = Signal(object)  # SearchOutcome, after the gallery shows it

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.pane = window.results
        self.service = SearchService()
        self.thumbs = GalleryThumbnails()
        self.film_cases = FilmCases()
        self.searcher = ExecutorBridge("cxrviewer-search", self)
        self.gallery = ExecutorBridge("cxrviewer-gallery", self)
        self.library = None  # services.search.LibraryOpened
        self.route = window.settings.search_route or LABEL_ROUTE
        self.device = ""
        self.last_outcome = None
        self._pending_query: str | None = None
        self._last_call: tuple | None = None  # (service method, its arguments) of the shown gallery
        self._appending = False
        self.page = PAGE
        self._open_first_hit = False
        self._compare = None
        self._closed = False
        self._building = ""  # the name of the library being built, for the cancel message
        self._looked_up = ""  # the film whose library case was asked for last
        for bridge in (self.searcher, self.gallery):
            bridge.event.connect(window.on_job_event)
        window.channel_handlers.update({
            "library": self._on_library, "build": self._on_build, "warm": self._on_warm, "search": self._on_search,
            "gallery": self._on_gallery, "compare": self._on_compare_image, "film_case": self._on_film_case,
        })
        self._build_progress()
        self.pane.model.anonymise = window.settings.anonymise
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(15)
        self._thumb_timer.timeout.connect(self._load_thumbnails)
        self.pane.model.thumbnailsWanted.connect(self._thumb_timer.start)
        self.pane.searchRequested.connect(self.run_query)
        self.pane.similarRequested.connect(self.similar)
        self.pane.libraryChosen.connect(self.open_library)
        self.pane.routeChosen.connect(self.set_route)
        self.pane.caseActivated.connect(self._activate)
        self.pane.compareRequested.connect(self.compare)
        self.pane.moreWanted.connect(self.more_results)

    def _build_progress(self) -> None:
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.pane.controls_layout.insertLayout(self.pane.controls_layout.count() - 1, row)
        self.progress.hide()
        self.cancel_button.hide()
        self.device_label = QLabel()
        self.window.statusBar().addPermanentWidget(self.device_label)

    # -- libraries and routes ----------------------------------------------------------------------

    def start(self, library: str | None = None, query: str | None = None) -> None:
        """Open the user's library (the demo on a first start) and optionally run ``query``."""
        self._pending_query = query
        self.open_library(library if library is not None else self.window.settings.search_library)

    def open_library(self, name_or_path: str | None) -> None:
        self.pane.show_message("Opening the case library…")
        self._submit(self.searcher, self.service.open_library, name_or_path or None, channel="library")

    def choose_and_build(self) -> None:
        from cxrviewer.gui.build_dialog import BuildLibraryDialog

        dialog = BuildLibraryDialog(self.window, self.window.settings.last_folder)
        if dialog.exec():
            self.build(*dialog.values())

    def build(self, dataset: str, root: str, name: str, encoder: str = "") -> None:
        """Build a library in the worker (progress and cancel in the pane), then switch to it."""
        from cxrviewer.library import catalog

        out = str(catalog.default_out(name))
        self._building = name
        self.pane.show_message(f"Building {name}…")
        self._submit(self.searcher, self.service.build, dataset, root, out, name, encoder, channel="build")

    def set_route(self, route: str) -> None:
        self.route = route
        self.window.settings.search_route = route
        if self.library is not None:
            self._warm()
            if self.pane.query.text().strip():
                self.run_query()

    def _on_build(self, event: JobEvent) -> None:
        """A build ends by opening the library it built. A cancelled or failed one says so (not
        "opening the library was cancelled"), and that the films added so far are kept."""
        if event.kind == "cancelled":
            self._hide_progress()
            self.pane.show_message(f"Building {self._building} was cancelled. The films added so far are kept: "
                                   f"build {self._building} again to resume where it stopped.")
            return
        if event.kind == "error":
            self._hide_progress()
            self.pane.show_message(f"Building {self._building} failed: {event.payload}")
            return
        self._on_library(event)

    def _on_library(self, event: JobEvent) -> None:
        if event.kind == "progress":
            done, total, message = event.payload
            self._show_progress(message, done, total)
            return
        self._hide_progress()
        if event.kind == "error":
            self.library = None
            self.pane.show_message(f"The library could not be opened: {event.payload}")
            self.pane.model.set_hits(())
            return
        if event.kind != "done":
            self.pane.show_message("Opening the library was cancelled.")
            return
        opened = event.payload
        self.library = opened
        self.window.settings.search_library = opened.path
        if self.route not in opened.routes:
            self.route = opened.default_route
        self.pane.set_routes(opened.routes, self.route)
        self.pane.set_synthetic(opened.synthetic)
        self.pane.set_libraries(list(opened.available), opened.path)
        self.pane.show_message(f"{opened.name}: {opened.count:,} cases. Type an impression and press Enter.")
        self._warm()
        self.window.library_opened(opened.path)  # a film shown before the library gets its findings
        query = self._pending_query
        self._pending_query = None
        if query is None and opened.synthetic and self.window.current_path is None and self.window.root_path is None:
            query = EXAMPLE_QUERY  # a first start: show every part of the window at work
        if query:
            self.pane.query.setText(query)
            self._open_first_hit = self.window.current_path is None
            self.run_query()

    def _warm(self) -> None:
        self.device_label.setText("loading model…" if self.route != LABEL_ROUTE else "")
        self._submit(self.searcher, self.service.warm_up, self.library.path, self.route, channel="warm")

    def _on_warm(self, event: JobEvent) -> None:
        if event.kind == "done":
            self.device = event.payload
            model = "findings route" if self.route == LABEL_ROUTE else f"model {self.route}"
            self.device_label.setText(f"{model} · {self.device}")
        elif event.kind == "error":
            self.device_label.setText("model unavailable")
            self.pane.show_message(f"The model could not be loaded: {event.payload}")

    # -- queries ---------------------------------------------------------------------------------

    def request(self, **changes):
        from cxrviewer.library.library import Filters, SearchRequest

        return SearchRequest(k=changes.pop("k", self.page), filters=Filters(**self.pane.filter_values()),
                             route=self.route, **changes)

    def run_query(self) -> None:
        text = self.pane.query.text().strip()
        if self.library is None:
            self._pending_query = text
            return
        if not text:
            return
        self.pane.set_reports_mode(False)
        self._search(self.service.search, self.library.path, self.request(text=text), text)

    def similar(self, mode: str = "films") -> None:
        """Films (or their reports) nearest to the film in the viewer."""
        if self.library is None:
            self.pane.show_message("No library is open yet.")
            return
        path = self.window.current_path
        if not path:
            self.pane.show_message("Open a film first: similar films are found for the film in the viewer.")
            return
        self.pane.set_reports_mode(mode == "reports")
        case = self.window.library_case
        if case is not None and case.image == path and Path(self.library.path) == Path(self.window.library_case_source):
            request = self.request(case_id=case.case_id)
            self._search(self.service.search, self.library.path, request, f"films like {case.case_id}")
            return
        report = self.window.report_pane.report
        report_text = report.text if report is not None else ""
        self._search(self.service.similar_to_film, self.library.path, path, self.request(), report_text)

    def _search(self, fn, *args) -> None:
        self.gallery.executor.cancel_channel("gallery")
        self.pane.show_message("Searching…")
        self._last_call, self._appending = (fn, args), False
        self._submit(self.searcher, fn, *args, channel="search")

    def more_results(self) -> None:
        """The gallery reached its end: run the shown query again for up to ``MAX_RESULTS``
        and append what is new. Nothing to do when the last run returned fewer than it asked."""
        from cxrviewer.library.library import SearchRequest

        outcome, call = self.last_outcome, self._last_call
        if self._appending or outcome is None or call is None or self.library is None:
            return
        fn, args = call
        asked = next((a for a in args if isinstance(a, SearchRequest)), None)
        if asked is None or asked.k >= MAX_RESULTS or len(outcome.hits) < outcome.request.k:
            return
        import dataclasses

        bigger = dataclasses.replace(asked, k=min(MAX_RESULTS, asked.k * 10))
        args = tuple(bigger if a is asked else a for a in args)
        self._last_call, self._appending = (fn, args), True
        self.pane.show_message("More results…")
        self._submit(self.searcher, fn, *args, channel="search")

    def _on_search(self, event: JobEvent) -> None:
        if event.kind == "error":
            reason = getattr(event.payload, "reason", None) or str(event.payload)
            if not self._appending:  # a failed "more" keeps the results already shown
                self.pane.model.set_hits(())
            self._appending = False
            self.pane.show_message(f"Search failed: {reason}")
            return
        if event.kind == "cancelled":
            self._appending = False
        if event.kind != "done":
            return
        outcome = event.payload
        self.last_outcome = outcome
        if self._appending:
            self._appending = False
            self.pane.append_outcome(outcome)
            self.outcomeShown.emit(outcome)
            return
        self.pane.show_outcome(outcome)
        self.window.statusBar().showMessage(
            f"{len(outcome.hits)} results in {outcome.seconds * 1000:.0f} ms · "
            f"{'findings route' if outcome.model == LABEL_ROUTE else 'model ' + outcome.model} · {outcome.device}"
            + (f" · licence: {outcome.licence}" if outcome.licence else ""), 8000)
        if self._open_first_hit and outcome.hits and self.window.root_path is None:
            # The first start's example shows its best match, unless the user opened a film
            # (or a folder) while it ran: that one stays in the viewer.
            self.window.open_case(outcome.hits[0].case, self.library.path)
        self._open_first_hit = False
        self.outcomeShown.emit(outcome)

    def cancel(self) -> None:
        self.searcher.executor.cancel_all()

    # -- thumbnails --------------------------------------------------------------------------------

    def _load_thumbnails(self) -> None:
        wanted = self.pane.model.take_wanted()
        if wanted and self.library is not None:
            self._submit(self.gallery, self.thumbs.load, self.library.path, wanted, channel="gallery",
                         supersede=False)

    def gallery_settled(self) -> bool:
        """No thumbnail asked for and not yet sent to the worker (the worker's own queue is
        covered by the window's ``is_idle``)."""
        return not self._thumb_timer.isActive() and not self.pane.model.wanted

    def _on_gallery(self, event: JobEvent) -> None:
        if event.kind == "partial":
            thumb = event.payload
            self.pane.model.set_thumbnail(thumb.case_id, QPixmap.fromImage(array_to_qimage(thumb.pixels)))

    # -- results to the viewer ---------------------------------------------------------------------

    def look_up_case(self, path: str) -> None:
        """Ask the open library for the case of a film opened from disk (its labels, its report);
        the answer goes to ``window.library_case_found``."""
        if self.library is None:
            return
        self._looked_up = path
        self._submit(self.gallery, self.film_cases.find, self.library.path, path, channel="film_case")

    def _on_film_case(self, event: JobEvent) -> None:
        if event.kind == "done":
            path, case = event.payload
            self.window.library_case_found(path, case, self.library.path if self.library else "")
        elif event.kind in ("error", "cancelled"):  # not in the library, as far as can be told
            self.window.library_case_found(self._looked_up, None, "")

    def _activate(self, hit) -> None:
        if hit is not None and self.library is not None:
            self.window.open_case(hit.case, self.library.path)

    def compare(self, hit) -> None:
        """Side by side: the viewed film and a result, window/level kept in step."""
        if hit is None:
            return
        viewer = self.window.viewer
        if viewer.opened is None:
            self.window.open_case(hit.case, self.library.path)
            return
        from cxrviewer.gui.compare import CompareDialog
        from cxrviewer.services import study as jobs

        if self._compare is None:
            self._compare = CompareDialog(self.window)
        self._compare.show_left(viewer.opened, Path(self.window.current_path or "").name)
        self._compare.set_right_title(f"#{hit.rank} {hit.case.case_id} · score {hit.score:.3f}")
        self._compare.show()
        self._compare.raise_()
        self._submit(self.window.loader, jobs.open_image, hit.case.image, channel="compare")

    def _on_compare_image(self, event: JobEvent) -> None:
        if self._compare is None:
            return
        if event.kind == "done":
            self._compare.show_right(event.payload)
        elif event.kind == "error":
            self._compare.right_failed(getattr(event.payload, "reason", str(event.payload)))

    # -- plumbing ----------------------------------------------------------------------------------

    def _submit(self, bridge: ExecutorBridge, fn, *args, channel: str, supersede: bool = True) -> None:
        if self._closed:  # a timer or late signal after the window closed
            return
        self.window.submit_job(bridge, fn, *args, channel=channel, supersede=supersede)

    def _show_progress(self, message: str, done: float, total: float | None) -> None:
        self.progress.show()
        self.cancel_button.show()
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
            self.progress.setFormat(f"{message}: %v / %m")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(message)
        self.pane.show_message(message + "…")

    def _hide_progress(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def set_anonymise(self, on: bool) -> None:
        self.pane.model.anonymise = on

    def shutdown(self) -> None:
        self._closed = True
        self._thumb_timer.stop()
        self.pane._pause.stop()
        for bridge in (self.searcher, self.gallery):
            bridge.executor.cancel_all()
        # The connections are closed on the threads that use them, after their last job. (A
        # "close" job submitted here was cancelled by the shutdown that followed it whenever the
        # worker had not started it yet, which left the database's -wal and -shm behind.)
        self.searcher.shutdown(last=self.service.close)
        self.gallery.shutdown(last=lambda: (self.thumbs.close(), self.film_cases.close()))
