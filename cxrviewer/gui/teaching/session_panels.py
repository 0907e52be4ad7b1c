"""The teaching session's side panel: where the case is, what the student may see of it (the
core's ``visible_fields`` decides; hidden fields hold no text at all, only a placeholder), the
quiz's answer box and verdict, the report with the evidence highlighted, and the differential
strip. Also the HTML of a verdict and of a highlighted report, shared with the teacher's notes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.gui.qimages import array_to_qimage
from cxrviewer.teaching.quiz import FOUND, MISSED, OVERCALLED, report_segments

if TYPE_CHECKING:
    from cxrviewer.teaching.model import Case
    from cxrviewer.teaching.quiz import Verdict
    from cxrviewer.teaching.session import SessionState

HIDDEN = "<i style='color:#888'>hidden until revealed (Space)</i>"
EVIDENCE_COLOURS = ("#6b5200", "#1f4f7a", "#5a2a6e", "#1f5f3a", "#6e2a2a")
OUTCOME_MARKS = {FOUND: ("✔", "#6fcf6f"), MISSED: ("✘", "#ff7070"), OVERCALLED: ("+", "#ffb347")}


def report_html(report: str, evidence: dict[str, list[tuple[int, int]]]) -> str:
    """The report with each finding's evidence highlighted (one colour per finding)."""
    colours = {label: EVIDENCE_COLOURS[n % len(EVIDENCE_COLOURS)] for n, label in enumerate(evidence)}
    parts = []
    for text, label in report_segments(report, evidence):
        shown = html.escape(text).replace("\n", "<br>")
        parts.append(f"<span style='background:{colours[label]}; color:white' title='{html.escape(label)}'>"
                     f"{shown}</span>" if label else shown)
    return "".join(parts) or "<i>No report.</i>"


def verdict_html(verdict: Verdict) -> str:
    """Per finding found / missed / overcalled, side and severity right or wrong, and the score."""
    lines = [f"<b>Score {verdict.score:.2f}</b>"]
    if verdict.message:
        lines.append(html.escape(verdict.message))
    for f in verdict.findings:
        mark, colour = OUTCOME_MARKS[f.outcome]
        details = []
        for what, judged, expected, answered in (("side", f.side, f.expected_side, f.answered_side),
                                                 ("severity", f.severity, f.expected_severity, f.answered_severity)):
            if judged == "wrong":
                details.append(f"{what} wrong ({answered}; it is {expected})")
            elif judged == "right":
                details.append(f"{what} right")
            elif judged == "not_stated":
                details.append(f"{what} not stated (it is {expected})")
        hedge = ", hedged" if f.hedged else ""
        text = f"{f.outcome}{hedge}" + (": " + "; ".join(details) if details else "")
        lines.append(f"<span style='color:{colour}'>{mark} <b>{html.escape(f.label)}</b> — {html.escape(text)}</span>")
    if verdict.case_normal and verdict.answer_normal:
        lines.append("Normal film, answered normal.")
    return "<br>".join(lines)


def fields_html(case: Case, visible: frozenset[str]) -> str:
    """The case's fields the student may see now; the others as a placeholder."""
    t = case.teaching

    def row(name: str, field: str, value: str) -> str:
        shown = html.escape(value).replace("\n", "<br>") if field in visible else HIDDEN
        return f"<p><b>{name}</b><br>{shown or '—'}</p>"

    labels = ", ".join(k.label + (f" ({k.laterality})" if k.laterality else "")
                       + (f", {k.severity}" if k.severity else "") for k in case.known_findings
                       if k.status == "positive")
    return "".join((
        row("Title", "title", t.title), row("History", "history", t.history),
        row("Difficulty", "difficulty", t.difficulty),
        row("Findings", "findings", "\n".join(x for x in (t.findings, labels and f"Labels: {labels}") if x)),
        row("Diagnosis", "diagnosis", t.diagnosis), row("Teaching points", "teaching_points", t.teaching_points),
        row("Tags", "tags", ", ".join(t.tags)),
    ))


class SessionPanel(QWidget):
    answered = Signal(str)
    notesRequested = Signal()
    resultsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(430)
        self.setStyleSheet("QWidget { font-size: 13px; } QLabel#position { font-size: 20px; font-weight: bold; }")
        self.position = QLabel()
        self.position.setObjectName("position")
        self.fields = QLabel()
        self.fields.setWordWrap(True)
        self.fields.setTextFormat(Qt.TextFormat.RichText)
        self.answer = QLineEdit()
        self.answer.setPlaceholderText("Your impression, e.g. \"small left effusion\" — Enter to check")
        self.answer.returnPressed.connect(self._entered)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.report = QTextBrowser()
        self.report.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.differential_title = QLabel("<b>Differential</b>: similar films whose findings differ")
        self.differential = QListWidget()
        self.differential.setViewMode(QListWidget.ViewMode.IconMode)
        self.differential.setFlow(QListWidget.Flow.LeftToRight)
        self.differential.setWrapping(False)
        self.differential.setIconSize(QSize(110, 110))
        self.differential.setFixedHeight(170)
        self.differential.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tiles: list[Any] = []  # services.session.teaching.DifferentialTile, as shown
        self.hint = QLabel("Space reveals · ←/→ move · Home/End · T teacher's notes · Esc leaves")
        self.hint.setStyleSheet("color: #999;")
        notes, results = QPushButton("Teacher's notes"), QPushButton("Export results…")
        for button in (notes, results):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        notes.clicked.connect(self.notesRequested.emit)
        results.clicked.connect(self.resultsRequested.emit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.position)
        layout.addWidget(self.fields)
        layout.addWidget(self.answer)
        layout.addWidget(self.verdict)
        layout.addWidget(QLabel("<b>Report</b>"))
        layout.addWidget(self.report, 1)
        layout.addWidget(self.differential_title)
        layout.addWidget(self.differential)
        buttons = QHBoxLayout()
        buttons.addWidget(notes)
        buttons.addWidget(results)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)

    def _entered(self) -> None:
        if self.answer.text().strip():
            self.answered.emit(self.answer.text())

    def show_case(self, state: SessionState, case: Case, visible: frozenset[str], verdict: Verdict | None,
                  evidence: dict[str, list[tuple[int, int]]]) -> None:
        """Fill the panel for ``case`` with only the ``visible`` fields."""
        revealed = "report" in visible
        self.position.setText(f"Case {state.position_text}" + ("" if revealed else "  · unknown"))
        self.fields.setText(fields_html(case, visible))
        self.answer.setVisible(state.mode == "unknown")
        self.answer.setEnabled(not revealed)
        self.verdict.setText(verdict_html(verdict) if verdict is not None and revealed else "")
        self.verdict.setVisible(bool(self.verdict.text()))
        if revealed:
            self.report.setHtml(report_html(case.report, verdict.evidence if verdict is not None else evidence))
        else:
            self.report.setHtml(HIDDEN)
        self.differential_title.setVisible("differential" in visible)
        self.differential.setVisible("differential" in visible)
        if "differential" not in visible:
            self.differential.clear()

    def show_differential(self, tiles: Sequence[Any], message: str = "") -> None:
        """The differential strip's films: thumbnail, findings, and what of the answer they show."""
        self.differential.clear()
        self.tiles = list(tiles)
        if message:
            self.differential.addItem(message)
        for tile in tiles:
            film = tile.film
            text = ", ".join(film.findings)
            item = QListWidgetItem(text if len(text) < 40 else text[:38] + "…")
            tip = f"{text}\n{film.impression}"
            if film.shows_answer:
                tip += f"\nShows what the answer said: {', '.join(film.shows_answer)}"
            item.setToolTip(tip)
            if tile.pixels is not None:
                item.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(tile.pixels))))
            self.differential.addItem(item)
