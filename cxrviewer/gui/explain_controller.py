"""Saliency and finding probabilities for the viewed film, computed in the search worker (which
owns the models) and drawn by the viewer's overlay and the findings panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from cxrviewer.services import JobEvent

if TYPE_CHECKING:
    from cxrviewer.gui.main_window import MainWindow


class ExplainController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.search = window.search
        self.auto = False  # explain each film opened from the gallery (--saliency, View menu)
        self.last_labels: tuple[str, ...] = ()
        self._requested_key: tuple | None = None
        self._panel_connected = False
        self.models_shown: dict[str, str] = {}  # model -> "licence ...; what it was validated on" (About)
        self.model_label = None  # QLabel in the status bar, made with the first finding scores
        window.channel_handlers.update({"saliency": self._on_saliency, "scores": self._on_scores})

    def connect_viewer(self, viewer) -> None:
        bar = viewer.saliency.bar
        bar.recomputeRequested.connect(self.explain)
        bar.exportRequested.connect(self.export)

    # -- requests ----------------------------------------------------------------------------------

    def targets(self) -> list[tuple[str, tuple[str, str]]]:
        """What can be explained now: the typed query, the selected result, each model label."""
        out = []
        query = self.window.results.query.text().strip()
        if query:
            out.append((f"Query: {query[:40]}", ("text", query)))
        hit = self.window.results.selected_hit()
        if hit is not None and hit.case.image != self.window.current_path:
            out.append((f"Result #{hit.rank}: {hit.case.case_id}", ("case", hit.case.case_id)))
        out += [(f"Finding: {label}", ("label", label)) for label in self.last_labels]
        return out

    def explain(self) -> None:
        """Compute the map for the viewed film and the target chosen in the bar (or the first)."""
        window = self.window
        library = self.search.library
        viewer = window.viewer
        if library is None or viewer.image is None or not window.current_path:
            window.statusBar().showMessage("Saliency needs a film in the viewer and an open library.", 5000)
            return
        bar = viewer.saliency.bar
        targets = self.targets()
        if not targets:
            window.statusBar().showMessage("Type a query or select a result to explain.", 5000)
            return
        current = bar.current_target()
        if current not in [t for _, t in targets]:
            current = targets[0][1]
        bar.set_targets(targets, current)
        bar.show()
        method = bar.method.currentData() or "auto"
        self._requested_key = (window.current_path, viewer.frame, current, method)
        bar.caption.setText("Computing the saliency map…")
        self.search._submit(self.search.searcher, self.search.service.saliency, library.path,
                            window.current_path, viewer.frame, current[0], current[1], method,
                            channel="saliency")

    def film_opened(self) -> None:
        """A new film is in the viewer: its finding probabilities, and its map when automatic."""
        library = self.search.library
        path = self.window.current_path
        if library is None or not path:
            return
        self.search._submit(self.search.searcher, self.search.service.finding_scores, library.path, path,
                            self.window.viewer.frame, channel="scores")
        if self.auto and self.targets():
            self.explain()

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save film with saliency", "saliency.png", "PNG (*.png)")
        if path:
            self.save_png(path)

    def save_png(self, path: str) -> bool:
        return self.window.viewer.graphics.grab().save(path, "PNG")

    # -- results -----------------------------------------------------------------------------------

    def _on_saliency(self, event: JobEvent) -> None:
        viewer = self.window.viewer
        if event.kind == "error":
            reason = getattr(event.payload, "reason", None) or str(event.payload)
            viewer.saliency.bar.caption.setText(f"No map: {reason}")
            return
        if event.kind != "done":
            return
        result = event.payload
        if result.image_path != self.window.current_path or result.frame != viewer.frame:
            return  # the film changed while the map was computed
        caption = (f"{result.method} on {result.model}: {result.target} (score {result.score:.3f}, "
                   f"{result.seconds * 1000:.0f} ms)" + (f" · licence: {result.licence}" if result.licence else ""))
        viewer.saliency.set_map(result.values, self._requested_key, caption)
        self.models_shown.setdefault(result.model, f"licence: {result.licence or 'unknown'}")

    def _on_scores(self, event: JobEvent) -> None:
        if event.kind == "error":
            from cxrviewer.services.search import FindingScores

            reason = getattr(event.payload, "reason", None) or str(event.payload)
            scores = FindingScores(self.window.current_path, refused=f"The finding model could not read this film: {reason}")
        elif event.kind == "done":
            scores = event.payload
        else:
            return
        if scores.image_path != self.window.current_path:
            return
        self.last_labels = tuple(scores.labels)
        report = self.window.report_pane.report
        stated = dict(getattr(report, "findings", ()) or ()) if report is not None else {}
        panel = self.window.findings_panel
        if not self._panel_connected:
            panel.importRequested.connect(self.window.import_model)
            panel.trainRequested.connect(self.window.show_training)
            self._panel_connected = True
        panel.show_scores(scores, stated)
        self._show_model(scores)

    def _show_model(self, scores) -> None:
        """The status bar names the model whose numbers are on screen, and its validation data."""
        if self.model_label is None:
            from PySide6.QtWidgets import QLabel

            self.model_label = QLabel()
            self.model_label.setObjectName("modelStatus")
            self.window.statusBar().addPermanentWidget(self.model_label)
        reading = scores.reading
        if reading is None:
            self.model_label.setText("Findings: no validated model")
            self.model_label.setToolTip(scores.refused)
            return
        self.models_shown[reading.model] = f"licence: {reading.licence}; {reading.validation}"
        self.model_label.setText(f"Findings: {reading.model}")
        self.model_label.setToolTip(f"{reading.model}: {reading.validation}. Licence: {reading.licence}")
