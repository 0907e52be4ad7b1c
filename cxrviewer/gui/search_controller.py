"""Connects the results pane to the session's search: what the user asks for goes to
``session.search``; what the search reports (library, route, results, progress, messages) is
shown in the pane. The gallery's thumbnails, asked for as tiles are painted, are this
controller's own jobs on the gallery worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from cxrviewer.gui.compare import CompareController
from cxrviewer.gui.qimages import array_to_qimage

if TYPE_CHECKING:
    from cxrviewer.gui.results_pane import ResultsPane
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.services.search import GalleryThumb, LibraryOpened, SearchOutcome
    from cxrviewer.services.session import Session

THUMB_PAUSE_MS = 15  # tiles painted in one go ask for their thumbnails in one job


class SearchController(QObject):
    outcomeShown = Signal(object)  # SearchOutcome, once the gallery shows it

    def __init__(self, session: Session, pane: ResultsPane, viewer: Callable[[], ImageViewer],
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.session = session
        self.pane = pane
        self._dialog_parent = dialog_parent
        self.compare = CompareController(session, viewer, dialog_parent)
        self._build_progress()
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(THUMB_PAUSE_MS)
        self._thumb_timer.timeout.connect(self._load_thumbnails)
        search = session.search
        pane.model.anonymise = session.anonymise
        pane.model.thumbnailsWanted.connect(self._thumb_timer.start)
        pane.searchRequested.connect(self.run_query)
        pane.similarRequested.connect(search.similar)
        pane.libraryChosen.connect(search.open_library)
        pane.routeChosen.connect(search.set_route)
        pane.caseActivated.connect(search.activate)
        pane.caseSelected.connect(search.select)
        pane.compareRequested.connect(self.compare.compare)
        pane.moreWanted.connect(search.more)
        events = search.events
        events.message.connect(pane.show_message)
        events.progress.connect(self._show_progress)
        events.progress_ended.connect(self._hide_progress)
        events.library.connect(self._library)
        events.route.connect(self._route)
        events.model.connect(self.device_label.setText)
        events.query.connect(pane.set_query)
        events.searching.connect(lambda mode: pane.set_reports_mode(mode == "reports"))
        events.results.connect(self._results)
        events.failed.connect(self._failed)
        session.events.anonymise.connect(self._set_anonymise)
        if search.library is not None:  # opened before this controller was made
            self._library(search.library)

    def _build_progress(self) -> None:
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.session.search.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.pane.controls_layout.insertLayout(self.pane.controls_layout.count() - 1, row)
        self.progress.hide()
        self.cancel_button.hide()
        self.device_label = QLabel()

    def status_widgets(self) -> tuple[QLabel]:
        return (self.device_label,)

    # -- what the user asks for ---------------------------------------------------------------------

    def start(self, library: str | None = None, query: str | None = None) -> None:
        """Open the user's library (the demo on a first start) and optionally run ``query``."""
        self.session.search.start(library, query)

    def run_query(self, text: str, filters: dict) -> None:
        """The query typed in the pane (Enter, a typing pause, a filter changed), with its filters."""
        self.session.search.search(text, filters)

    def choose_and_build(self) -> None:
        from cxrviewer.gui.build_dialog import BuildLibraryDialog

        dialog = BuildLibraryDialog(self._dialog_parent, self.session.settings.last_folder)
        if dialog.exec():
            self.session.search.build(*dialog.values())

    def compare_selected(self) -> None:
        self.compare.compare(self.pane.selected_hit())

    # -- what the search reports --------------------------------------------------------------------

    def _library(self, opened: LibraryOpened | None) -> None:
        if opened is None:
            self.pane.model.set_hits(())
            return
        self.pane.set_routes(opened.routes, self.session.search.route)
        self.pane.set_synthetic(opened.synthetic)
        self.pane.set_libraries(list(opened.available), opened.path)

    def _route(self, route: str) -> None:
        library = self.session.search.library
        if library is not None:
            self.pane.set_routes(library.routes, route)

    def _results(self, outcome: SearchOutcome, appended: bool) -> None:
        if appended:
            self.pane.append_outcome(outcome)
        else:
            self.pane.show_outcome(outcome)
        self.outcomeShown.emit(outcome)

    def _failed(self, reason: str, appended: bool) -> None:
        if not appended:  # a failed "more" keeps the results already shown
            self.pane.model.set_hits(())
        self.pane.show_message(f"Search failed: {reason}")

    def _show_progress(self, done: float, total: float | None, message: str) -> None:
        self.progress.show()
        self.cancel_button.show()
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
            self.progress.setFormat(f"{message}: %v / %m")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(message)

    def _hide_progress(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _set_anonymise(self, on: bool) -> None:
        self.pane.model.anonymise = on

    # -- the gallery's thumbnails -------------------------------------------------------------------

    def _load_thumbnails(self) -> None:
        search = self.session.search
        wanted = self.pane.model.take_wanted()
        if wanted and search.library is not None:
            self.session.workers.gallery.submit(search.thumbs.load, search.library.path, wanted, channel="gallery",
                                                supersede=False, on_partial=self._thumbnail)

    def _thumbnail(self, thumb: GalleryThumb) -> None:
        self.pane.model.set_thumbnail(thumb.case_id, QPixmap.fromImage(array_to_qimage(thumb.pixels)))

    def gallery_settled(self) -> bool:
        """No thumbnail asked for and not yet sent to the worker (the worker's own queue is
        covered by the session's ``is_idle``)."""
        return not self._thumb_timer.isActive() and not self.pane.model.wanted

    def shutdown(self) -> None:
        self._thumb_timer.stop()
        self.pane.stop()
