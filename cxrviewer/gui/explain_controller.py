"""Saliency maps and finding probabilities for the viewed film: this controller's own jobs on the
search worker (which owns the models), given the film the viewer decoded, drawn by the viewer's
overlay and the findings panel when they come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

if TYPE_CHECKING:
    from cxrviewer.gui.findings_panel import FindingsPanel
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.services.search import FindingScores, SaliencyResult
    from cxrviewer.services.session import ReportView, Session


class ExplainController(QObject):
    def __init__(self, session: Session, viewer: Callable[[], ImageViewer], panel: Callable[[], FindingsPanel],
                 status: Callable[[str, int], None], add_status_widget: Callable[[QWidget], None],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self._viewer, self._panel = viewer, panel
        self._status, self._add_status_widget = status, add_status_widget
        self._dialog_parent = parent
        self.auto = False  # explain each film opened (--saliency, Search menu)
        self.last_labels: tuple[str, ...] = ()
        self.models_shown: dict[str, str] = {}  # model -> "licence ...; validated on ..." (About)
        self.model_label: QLabel | None = None  # in the status bar, made with the first finding scores
        self._requested_key: tuple | None = None
        self._panel_shown = False
        session.film.events.opened.connect(lambda _: self.film_opened())
        session.film.events.report.connect(self._report_changed)
        session.search.events.library.connect(lambda opened: opened is not None and self.film_opened())
        self.film_opened()  # a film shown before this controller was made (it follows the first paint)

    def bind_viewer(self, viewer: ImageViewer) -> None:
        bar = viewer.saliency.bar
        bar.recomputeRequested.connect(self.explain)
        bar.exportRequested.connect(self.export)

    # -- requests ---------------------------------------------------------------------------------

    def targets(self) -> list[tuple[str, tuple[str, str]]]:
        """What can be explained now: the typed query, the selected result, each model label."""
        search, out = self.session.search, []
        if search.query:
            out.append((f"Query: {search.query[:40]}", ("text", search.query)))
        hit = search.selected
        if hit is not None and hit.case.image != self.session.film.path:
            out.append((f"Result #{hit.rank}: {hit.case.case_id}", ("case", hit.case.case_id)))
        out += [(f"Finding: {label}", ("label", label)) for label in self.last_labels]
        return out

    def explain(self) -> None:
        """Compute the map for the viewed film and the target chosen in the bar (or the first)."""
        session, viewer = self.session, self._viewer()
        library, film = session.search.library, session.film.opened
        if library is None or film is None or viewer.image is None:
            self._status("Saliency needs a film in the viewer and an open library.", 5000)
            return
        bar = viewer.saliency.bar
        targets = self.targets()
        if not targets:
            self._status("Type a query or select a result to explain.", 5000)
            return
        current = bar.current_target()
        if current not in [t for _, t in targets]:
            current = targets[0][1]
        bar.set_targets(targets, current)
        bar.show()
        method = bar.method.currentData() or "auto"
        path = film.image.header.path
        self._requested_key = (path, viewer.frame, current, method)
        bar.caption.setText("Computing the saliency map…")
        session.workers.search.submit(session.search.service.saliency, library.path, film.image, viewer.frame,
                                      current[0], current[1], method, channel="saliency",
                                      on_done=self._show_map, on_error=self._no_map)

    def film_opened(self) -> None:
        """A film is in the viewer (or a library just opened): its finding probabilities, and
        its map when maps are automatic."""
        session = self.session
        library, film = session.search.library, session.film.opened
        if library is None or film is None or film.image.header.path != session.film.path:
            return
        session.workers.search.submit(session.search.service.finding_scores, library.path, film.image,
                                      self._viewer().frame, channel="scores", on_done=self._show_scores,
                                      on_error=self._scores_failed)
        if self.auto and self.targets():
            self.explain()

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent, "Save film with saliency", "saliency.png",
                                              "PNG (*.png)")
        if path:
            self.save_png(path)

    def save_png(self, path: str) -> bool:
        return self._viewer().graphics.grab().save(path, "PNG")

    # -- results ----------------------------------------------------------------------------------

    def _no_map(self, exc: BaseException) -> None:
        reason = getattr(exc, "reason", None) or str(exc)
        self._viewer().saliency.bar.caption.setText(f"No map: {reason}")

    def _show_map(self, result: SaliencyResult) -> None:
        viewer = self._viewer()
        if result.image_path != self.session.film.path or result.frame != viewer.frame:
            return  # the film changed while the map was computed
        caption = (f"{result.method} on {result.model}: {result.target} (score {result.score:.3f}, "
                   f"{result.seconds * 1000:.0f} ms)" + (f" · licence: {result.licence}" if result.licence else ""))
        viewer.saliency.set_map(result.values, self._requested_key, caption)
        self.models_shown.setdefault(result.model, f"licence: {result.licence or 'unknown'}")

    def _scores_failed(self, exc: BaseException) -> None:
        from cxrviewer.services.search import FindingScores

        reason = getattr(exc, "reason", None) or str(exc)
        self._show_scores(FindingScores(self.session.film.path or "",
                                        refused=f"The finding model could not read this film: {reason}"))

    def _show_scores(self, scores: FindingScores) -> None:
        if scores.image_path != self.session.film.path:
            return
        self.last_labels = tuple(scores.labels)
        self._panel_shown = True
        self._panel().show_scores(scores, self.session.film.report_view().stated)
        self._show_model(scores)

    def _report_changed(self, view: ReportView) -> None:
        if not view.pending and self._panel_shown:  # the panel marks what the report states
            self._panel().set_stated(view.stated)

    def _show_model(self, scores: Any) -> None:
        """The status bar names the model whose numbers are on screen, and its validation data."""
        if self.model_label is None:
            self.model_label = QLabel()
            self.model_label.setObjectName("modelStatus")
            self._add_status_widget(self.model_label)
        reading = scores.reading
        if reading is None:
            self.model_label.setText("Findings: no validated model")
            self.model_label.setToolTip(scores.refused)
            return
        self.models_shown[reading.model] = f"licence: {reading.licence}; {reading.validation}"
        self.model_label.setText(f"Findings: {reading.model}")
        self.model_label.setToolTip(f"{reading.model}: {reading.validation}. Licence: {reading.licence}")
