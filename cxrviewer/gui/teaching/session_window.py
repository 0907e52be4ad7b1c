"""The teaching session: a collection presented case by case, full window, keyboard driven.

Space reveals (and, once revealed, moves on), the arrows, Page Up/Down, Home and End move,
T shows the teacher's notes, Esc leaves. What is shown is what the core's ``visible_fields``
allows for the session's state (``teaching.session``): in "unknown" mode the report, findings,
labels, title, diagnosis, teaching points, tags, annotations and everything identifying stay
hidden (the film's corner overlays too) until the case is revealed. On an unknown case the
student may type an impression: it is scored (and saved) in the teaching worker, the case is
revealed with the verdict, the report's evidence highlighted and the differential strip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QWidget

from cxrviewer.gui.teaching.annotation_layer import AnnotationLayer
from cxrviewer.gui.teaching.session_panels import SessionPanel
from cxrviewer.gui.viewer import ImageViewer
from cxrviewer.teaching.model import TeachingError
from cxrviewer.teaching.session import SessionModel, visible_fields

if TYPE_CHECKING:
    from cxrviewer.services.session import Session
    from cxrviewer.services.session.teaching import CaseFilm, DifferentialTile
    from cxrviewer.teaching.model import Case
    from cxrviewer.teaching.quiz import Verdict
    from cxrviewer.teaching.session import SessionState

KEY_NAMES = {Qt.Key.Key_Space: "space", Qt.Key.Key_Right: "right", Qt.Key.Key_Left: "left", Qt.Key.Key_Up: "up",
             Qt.Key.Key_Down: "down", Qt.Key.Key_PageUp: "pageup", Qt.Key.Key_PageDown: "pagedown",
             Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end", Qt.Key.Key_N: "n", Qt.Key.Key_P: "p"}


class SessionWindow(QWidget):
    def __init__(self, session: Session, state: SessionState, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Teaching session")
        self.setStyleSheet("background: #111; color: #ddd;")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the keys are the window's, not a button's
        self.session = session
        self.teaching = session.teaching
        self.model = SessionModel(state)
        self.case: Case | None = None
        self.film: CaseFilm | None = None
        self.verdicts: dict[str, Verdict] = {}
        self.differential_for = ""  # the case whose strip is shown (or asked for)
        self.notes: Any = None
        self.closed = False  # jobs that report after the window closed are ignored
        self.viewer = ImageViewer()
        self.viewer.saliency.bar.hide()
        self.viewer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.viewer.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.layer = AnnotationLayer(self.viewer)
        self.panel = SessionPanel()
        self.panel.answered.connect(self.answer)
        self.panel.notesRequested.connect(self.toggle_notes)
        self.panel.resultsRequested.connect(self._export_results)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.viewer, 1)
        layout.addWidget(self.panel)
        self.model.subscribe(self._state_changed)
        self.teaching.events.changed.connect(self._store_changed)
        self._state_changed(state)

    @property
    def state(self) -> SessionState:
        return self.model.state

    def present(self) -> None:
        """Full window; the teacher's notes on the second screen when there is one."""
        self.showFullScreen()
        self.activateWindow()
        self.setFocus()
        from cxrviewer.gui.teaching.teacher_notes import TeacherNotes

        notes = TeacherNotes(self)
        if notes.place_beside(self):
            self.notes = notes
            self._show()
        else:
            notes.deleteLater()

    # -- keys -------------------------------------------------------------------------------------

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if self.panel.answer.hasFocus():
                self.setFocus()
            else:
                self.close()
            return
        if key == Qt.Key.Key_T:
            self.toggle_notes()
            return
        if key == Qt.Key.Key_A and self.state.mode == "unknown" and not self.state.revealed:
            self.panel.answer.setFocus()  # "A" to answer
            return
        name = KEY_NAMES.get(Qt.Key(key))
        if name is None:
            super().keyPressEvent(event)
            return
        self.press(name)

    def press(self, key: str) -> None:
        self.model.press(key)

    # -- showing the state ------------------------------------------------------------------------

    def _state_changed(self, state: SessionState) -> None:
        if state.current is None:
            return
        if self.case is None or self.case.case_id != state.current:
            try:
                self.case = self.teaching.store.case(state.current)
            except TeachingError as exc:  # deleted since the session started
                self.case = None
                self.panel.position.setText(f"Case {state.position_text}: {exc}")
                self.viewer.show_error("Case unavailable", str(exc))
                return
            self.film = None
            self.viewer.clear()
            self.viewer.message.setText("Loading the film…")
            self.teaching.load_case_film(self.case, self._film_loaded, self._film_failed)
        self.setWindowTitle(f"Teaching session — {state.position_text}")
        self._show()

    def _film_loaded(self, film: CaseFilm) -> None:
        from cxrviewer.gui.viewer_presentation import apply_presentation

        if self.closed or self.case is None or film.case.case_id != self.case.case_id:
            return
        self.film = film
        self.viewer.show_image(film.opened)
        apply_presentation(self.viewer, self.case.presentation)
        self._show()

    def _film_failed(self, exc: BaseException) -> None:
        if self.closed:
            return
        self.viewer.show_error("Cannot show this case's film", getattr(exc, "reason", None) or str(exc))

    def _show(self) -> None:
        case = self.case
        if case is None:
            return
        visible = visible_fields(self.state)
        verdict = self.verdicts.get(case.case_id)
        evidence = self.film.evidence if self.film is not None else {}
        self.panel.show_case(self.state, case, visible, verdict, evidence)
        self.viewer.set_anonymise(self.session.anonymise or "identifying" not in visible)
        self.viewer.set_overlays_visible("identifying" in visible)
        self.layer.set_annotations(case.annotations)
        self.layer.set_visible("annotations" in visible)
        if "differential" in visible and self.differential_for != case.case_id:
            self._ask_differential(case, verdict)
        if self.notes is not None:
            self.notes.show_case(self.state, case, verdict, evidence)

    def _store_changed(self, change: Any) -> None:
        if self.case is not None and change.case_id == self.case.case_id and change.kind != "attempt-added":
            try:
                self.case = self.teaching.store.case(self.case.case_id)
            except TeachingError:
                return
            self._show()

    # -- the quiz ---------------------------------------------------------------------------------

    def answer(self, text: str) -> None:
        """Score the student's impression for the case on screen (saved as an attempt)."""
        case = self.case
        if case is None or self.state.revealed or self.state.mode != "unknown":
            return
        self.panel.answer.setEnabled(False)
        case_id = case.case_id
        self.teaching.answer(case_id, text, self.state.session_id, lambda verdict: self._answered(case_id, verdict))

    def _answered(self, case_id: str, verdict: Verdict) -> None:
        if self.closed:
            return
        self.verdicts[case_id] = verdict
        self.differential_for = ""  # asked again with what the student said
        if self.case is not None and self.case.case_id == case_id:
            self.setFocus()
            self.model.reveal()
            self._show()

    def _ask_differential(self, case: Case, verdict: Verdict | None) -> None:
        self.differential_for = case.case_id
        cid = case.case_id
        asked = self.teaching.differential(case, verdict, lambda tiles: self._differential(cid, tiles))
        if not asked:
            self.panel.show_differential([], "No case library is open to find similar films.")
        else:
            self.panel.show_differential([], "Finding similar films…")

    def _differential(self, case_id: str, tiles: list[DifferentialTile]) -> None:
        if not self.closed and self.case is not None and self.case.case_id == case_id \
                and "differential" in visible_fields(self.state):
            self.panel.show_differential(tiles, "" if tiles else "No similar film with other findings.")

    # -- notes, results, closing ------------------------------------------------------------------

    def toggle_notes(self) -> None:
        from cxrviewer.gui.teaching.teacher_notes import TeacherNotes

        if self.notes is None:
            self.notes = TeacherNotes(self)
        if self.notes.isVisible():
            self.notes.hide()
            return
        if not self.notes.place_beside(self):
            self.notes.show()
        self._show()

    def _export_results(self) -> None:
        out, _ = QFileDialog.getSaveFileName(self, "Export this session's results", "quiz-results.csv", "CSV (*.csv)")
        if out:
            self.teaching.export_results(out, self.state.session_id, None, self._results_written)

    def _results_written(self, path: str) -> None:
        if not self.closed:
            self.panel.hint.setText(f"Results written to {path}.")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.closed:
            self.closed = True
            self.teaching.events.changed.disconnect(self._store_changed)
        if self.notes is not None:
            self.notes.close()
        super().closeEvent(event)
