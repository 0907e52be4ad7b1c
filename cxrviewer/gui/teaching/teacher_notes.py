"""The teacher's notes: every field of the case on screen (``session.teacher_fields``), revealed
or not, with the student's last verdict, on a second screen when there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from cxrviewer.gui.teaching.session_panels import fields_html, report_html, verdict_html
from cxrviewer.teaching.session import teacher_fields

if TYPE_CHECKING:
    from cxrviewer.teaching.model import Case
    from cxrviewer.teaching.quiz import Verdict
    from cxrviewer.teaching.session import SessionState


class TeacherNotes(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Teacher's notes")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.text)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        self.resize(560, 720)

    def show_case(self, state: SessionState, case: Case, verdict: Verdict | None,
                  evidence: dict[str, list[tuple[int, int]]]) -> None:
        shown = "revealed" if state.revealed or state.mode == "known" else "hidden from the students"
        parts = [f"<h3>Case {state.position_text} ({shown})</h3>", fields_html(case, teacher_fields(state))]
        if verdict is not None:
            parts.append(f"<h4>Answer: “{verdict.answer}”</h4>{verdict_html(verdict)}")
        parts.append(f"<h4>Report</h4>{report_html(case.report, verdict.evidence if verdict else evidence)}")
        self.text.setText("".join(parts))

    def place_beside(self, window: QWidget) -> bool:
        """Show on a screen other than ``window``'s; False when there is only one screen."""
        screens = QGuiApplication.screens()
        own = window.screen()
        others = [s for s in screens if s is not own]
        if not others:
            return False
        self.setGeometry(others[0].availableGeometry())
        self.show()
        return True
