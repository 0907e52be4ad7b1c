"""The results gallery. Search against a case library arrives with the library issue; until then
the pane says so plainly instead of showing controls that do nothing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget


class ResultsPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query = QLineEdit()
        self.query.setPlaceholderText('Impression, e.g. "mild cardiomegaly, small left effusion"')
        self.query.setEnabled(False)
        self.note = QLabel("Similar-case search needs a case library; none is available in this version yet.")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setStyleSheet("color: gray;")
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.query)
        layout.addWidget(self.note)
        layout.addWidget(self.gallery, 1)
