"""Shows the session's study and film: the study browser, the series strip (whose thumbnails this
controller asks for), the viewer, the DICOM tags and the report; and the scan's progress.

Widgets change the session through its methods (a row clicked opens that film); the session's
events update the widgets. Pixels never come here undecoded: the film arrives decoded, and the
strip's thumbnails come from the thumbnails worker as small uint8 arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QPushButton

if TYPE_CHECKING:
    from cxrviewer.gui.report_pane import ReportPane
    from cxrviewer.gui.series_strip import SeriesStrip
    from cxrviewer.gui.study_browser import StudyBrowser
    from cxrviewer.gui.tag_browser import TagBrowser
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.services.session import ReportView, ScanSummary, Session
    from cxrviewer.services.study import OpenedImage, Thumbnail

THUMB_PAUSE_MS = 80  # strip scrolled: thumbnails are asked for once it rests
VIEW_PAUSE_MS = 150  # zoomed, panned, windowed: the session hears of it once the view rests


class StudyController(QObject):
    filmShown = Signal(object)  # OpenedImage, once the viewer has drawn it
    scanFinished = Signal(object)  # ScanSummary, after the widgets show it

    def __init__(self, session: Session, browser: StudyBrowser, strip: SeriesStrip, tags: TagBrowser,
                 report_pane: ReportPane, viewer: Callable[[], ImageViewer], viewer_built: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.browser, self.strip, self.tags, self.report_pane = browser, strip, tags, report_pane
        self._viewer, self._viewer_built = viewer, viewer_built  # built after the window's first paint
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(session.study.cancel)
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(THUMB_PAUSE_MS)
        self._thumb_timer.timeout.connect(self.request_thumbnails)
        strip.horizontalScrollBar().valueChanged.connect(lambda _: self._thumb_timer.start())
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(VIEW_PAUSE_MS)
        self._view_timer.timeout.connect(self._note_presentation)
        browser.imageActivated.connect(session.film.open)
        strip.imageActivated.connect(session.film.open)
        browser.set_anonymise(session.anonymise)
        tags.set_anonymise(session.anonymise)
        report_pane.set_anonymise(session.anonymise)

        study, film = session.study.events, session.film.events
        study.opened.connect(self._study_opened)
        study.progress.connect(self._scan_progress)
        study.finished.connect(self._scan_finished)
        film.changed.connect(self._film_changed)
        film.series.connect(self._series_changed)
        film.opened.connect(self._film_opened)
        film.failed.connect(self._film_failed)
        film.report.connect(self._show_report)
        film.present.connect(self._present)
        session.events.anonymise.connect(self._set_anonymise)

    def bind_viewer(self, viewer: ImageViewer) -> None:
        """Called once the viewer exists: how it shows the film goes to the session."""
        for signal in (viewer.levelsChanged, viewer.frameDrawn, viewer.view.sigRangeChanged):
            signal.connect(lambda *_: self._view_timer.start())

    def _note_presentation(self) -> None:
        from cxrviewer.gui.viewer_presentation import presentation_of

        if self._viewer_built() and self.session.film.opened is not None:
            self.session.film.note_presentation(presentation_of(self._viewer()))

    def _present(self, presentation: object) -> None:
        from cxrviewer.gui.viewer_presentation import apply_presentation

        apply_presentation(self._viewer(), presentation)  # type: ignore[arg-type]
        self._note_presentation()

    def status_widgets(self) -> tuple[QProgressBar, QPushButton]:
        return self.progress, self.cancel_button

    # -- the study --------------------------------------------------------------------------------

    def _study_opened(self, root: str) -> None:
        self.browser.reset()
        self.strip.set_series([], {})
        self._viewer().clear()
        self.tags.set_tags(())
        self.report_pane.show_none("Looking for a report…")
        self.progress.setRange(0, 0)
        self.progress.setFormat("Scanning…")
        self.progress.show()
        self.cancel_button.show()

    def _scan_progress(self, scanned: int) -> None:
        self.progress.setFormat(f"Scanning: {scanned:,} files")
        self.browser.show_new_issues()

    def _scan_finished(self, summary: ScanSummary) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.browser.finish()
        if self.session.film.path is None:
            self.report_pane.show_none("No images found.")
            self._viewer().placeholder.setText("No readable images here. See the Skipped tab for reasons.")
        self.scanFinished.emit(summary)

    # -- the film ---------------------------------------------------------------------------------

    def _film_changed(self, path: str) -> None:
        self.browser.select_path(path)
        self.strip.mark_current(path)
        self.request_thumbnails()

    def _series_changed(self, paths: list[str]) -> None:
        from cxrviewer.gui.study_tree_model import image_label

        headers = self.session.study.tree.headers
        appearing = len(paths) > 1 and self.strip.isHidden()
        self.strip.set_series(paths, {p: image_label(headers[p]) for p in paths if p in headers})
        if appearing:  # its tiles are in view only once the layout has placed it
            self.strip.parentWidget().layout().activate()
        self.request_thumbnails()

    def _film_opened(self, opened: OpenedImage) -> None:
        viewer = self._viewer()
        viewer.show_image(opened)
        viewer.graphics.viewport().repaint()  # the film now; tags and presets can follow a frame later
        viewer.set_anonymise(self.session.anonymise, self.session.study.tree.patient_index(self.session.film.path))
        self.tags.set_tags(opened.image.tags)
        self.filmShown.emit(opened)
        if not self.strip.has_thumbnail(opened.image.header.path):
            self._film_thumbnail(opened)

    def _film_failed(self, path: str, reason: str) -> None:
        from pathlib import Path

        self._viewer().show_error(f"Cannot show {Path(path).name}", reason)
        self.tags.set_tags(())
        self.strip.set_thumbnail(path, None, reason)

    def _show_report(self, view: ReportView) -> None:
        if view.report is not None:
            self.report_pane.show_report(view.report, redact=self.session.film.redactor())
            self.report_pane.set_anonymise(self.session.anonymise, self.session.film.redactor())
        elif view.message:
            self.report_pane.show_none(view.message)
        else:
            self.report_pane.show_none()

    def _set_anonymise(self, on: bool) -> None:
        film = self.session.film
        self.browser.set_anonymise(on)
        self.tags.set_anonymise(on)
        self.report_pane.set_anonymise(on, film.redactor())
        if self._viewer_built():
            self._viewer().set_anonymise(on, self.session.study.tree.patient_index(film.path) if film.path else 1)

    # -- the strip's thumbnails ---------------------------------------------------------------------

    def request_thumbnails(self) -> None:
        """Thumbnails for the part of the strip in view (and a margin), not the whole series; the
        film in the viewer's comes from its decoded pixels, never from a second decode."""
        from cxrviewer.services import study as jobs

        shown = self.session.film.path
        wanted = [p for p in self.strip.visible_paths() if p != shown and not self.strip.has_thumbnail(p)]
        if wanted:
            self.session.workers.thumbs.submit(jobs.make_thumbnails, wanted, self.strip.thumb_size,
                                               channel="thumbs", on_partial=self._thumbnail)

    def _film_thumbnail(self, opened: OpenedImage) -> None:
        from cxrviewer.services import study as jobs

        if opened.image.header.path in self.strip.paths():
            self.session.workers.thumbs.submit(jobs.film_thumbnail, opened.image, self.strip.thumb_size,
                                               channel="film-thumb", on_done=self._thumbnail)

    def _thumbnail(self, thumb: Thumbnail) -> None:
        self.strip.set_thumbnail(thumb.path, thumb.pixels, thumb.error)

    def shutdown(self) -> None:
        self._thumb_timer.stop()
        self._view_timer.stop()
