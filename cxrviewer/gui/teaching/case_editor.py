"""The teacher's fields of one case (title, history, findings, diagnosis, teaching points,
difficulty, tags), saved as they are typed: a field is saved when it loses the focus, on Enter,
or after a short pause in typing, each as one edit of the store."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPlainTextEdit, QWidget

from cxrviewer.teaching.model import DIFFICULTIES, Case

SAVE_PAUSE_MS = 600
TEXT_FIELDS = ("history", "findings", "diagnosis", "teaching_points")


class _TextBox(QPlainTextEdit):
    """A plain text field that reports losing the focus (the moment to save it)."""

    def __init__(self, left: Callable[[], None]) -> None:
        super().__init__()
        self._left = left
        self.setTabChangesFocus(True)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self._left()


class CaseEditor(QWidget):
    """Edits one case; ``save(case_id, changes)`` writes a dict of changed fields and returns the
    case as saved (None when it could not be)."""

    def __init__(self, save: Callable[[str, dict[str, object]], Case | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self.case: Case | None = None
        self.title = QLineEdit()
        self.title.setPlaceholderText("Title (hidden in unknown sessions until revealed)")
        self.boxes = {name: _TextBox(self.save_now) for name in TEXT_FIELDS}
        for box in self.boxes.values():
            box.setMaximumHeight(70)
            box.textChanged.connect(self._typed)
        self.difficulty = QComboBox()
        for value in DIFFICULTIES:
            self.difficulty.addItem(value or "—", value)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("Tags, separated by commas")
        form = QFormLayout(self)
        form.setContentsMargins(2, 2, 2, 2)
        form.addRow("Title", self.title)
        form.addRow("History", self.boxes["history"])
        form.addRow("Findings", self.boxes["findings"])
        form.addRow("Diagnosis", self.boxes["diagnosis"])
        form.addRow("Teaching points", self.boxes["teaching_points"])
        form.addRow("Difficulty", self.difficulty)
        form.addRow("Tags", self.tags)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(SAVE_PAUSE_MS)
        self._pause.timeout.connect(self.save_now)
        self._loading = False
        for line in (self.title, self.tags):
            line.editingFinished.connect(self.save_now)
            line.textEdited.connect(lambda _: self._pause.start())
        self.difficulty.activated.connect(lambda _: self.save_now())
        self.show_case(None)

    def show_case(self, case: Case | None) -> None:
        """Show ``case`` (None: nothing to edit); what was typed for the last one is saved first."""
        if self.case is not None and (case is None or case.case_id != self.case.case_id):
            self.save_now()
        self.case = case
        self._loading = True
        try:
            t = case.teaching if case is not None else None
            if self.title.text() != (t.title if t else ""):
                self.title.setText(t.title if t else "")
            for name, box in self.boxes.items():
                if box.toPlainText() != (getattr(t, name) if t else ""):
                    box.setPlainText(getattr(t, name) if t else "")
            self.difficulty.setCurrentIndex(max(0, self.difficulty.findData(t.difficulty if t else "")))
            if self.tags.text() != (", ".join(t.tags) if t else ""):
                self.tags.setText(", ".join(t.tags) if t else "")
        finally:
            self._loading = False
        self.setEnabled(case is not None)

    def refresh(self, case: Case) -> None:
        """The same case changed in the store (an undo, another window): show it unless typing."""
        if self.case is not None and case.case_id == self.case.case_id and not self._pause.isActive():
            self.case = case
            if not self.hasFocus() and not any(w.hasFocus() for w in (self.title, self.tags, *self.boxes.values())):
                self.show_case(case)

    def values(self) -> dict[str, object]:
        out: dict[str, object] = {"title": self.title.text().strip(), "difficulty": self.difficulty.currentData() or "",
                                  "tags": tuple(t.strip() for t in self.tags.text().split(",") if t.strip())}
        out.update({name: box.toPlainText().strip() for name, box in self.boxes.items()})
        return out

    def _typed(self) -> None:
        if not self._loading:
            self._pause.start()

    def save_now(self) -> None:
        """Write the fields that differ from the saved case (nothing when none do)."""
        self._pause.stop()
        if self.case is None or self._loading:
            return
        saved = self.case.teaching
        changes = {k: v for k, v in self.values().items() if getattr(saved, k) != v}
        if changes:
            saved_case = self._save(self.case.case_id, changes)
            if saved_case is not None and self.case is not None and saved_case.case_id == self.case.case_id:
                self.case = saved_case
