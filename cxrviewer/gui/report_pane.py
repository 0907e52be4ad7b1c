"""The study's report: where it came from and its sections (indication, findings, impression)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

NO_REPORT = "No report found for this study (no DICOM SR, report.txt or <image>.txt)."


def escape(text: str) -> str:
    """html.escape, imported on first use (the module costs a few ms of start-up)."""
    import html

    return html.escape(text)


class ReportPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color: palette(mid); font-size: 11px;")
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.source)
        layout.addWidget(self.text, 1)
        self.report = None
        self.anonymise = False
        self._redact = None
        self.text.setHtml("<p style='color:gray'>No study open.</p>")  # a constant: nothing to escape

    def show_none(self, message: str = NO_REPORT) -> None:
        self.report = None
        self.source.setText("")
        self.text.setHtml(f"<p style='color:gray'>{escape(message)}</p>")

    def show_report(self, report, redact=None) -> None:
        """``report`` is a services.study.StudyReport; ``redact(text)`` hides names when anonymising."""
        self.report = report
        self._redact = redact
        self._render()

    def set_anonymise(self, on: bool, redact=None) -> None:
        self.anonymise = on
        self._redact = redact
        if self.report is not None:
            self._render()

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def _render(self) -> None:
        report = self.report
        clean = self._redact if (self.anonymise and self._redact) else (lambda t: t)
        kind = {"sr": "DICOM structured report", "text": "text file",
                "library": "case library"}.get(report.source_kind, report.source_kind)
        self.source.setText(f"From {kind}: {clean(report.source_path)}" if not self.anonymise else f"From {kind}")
        parts = []
        sections = report.sections or ((("Report", report.text),) if report.text.strip() else ())
        for heading, body in sections:
            paragraphs = "".join(f"<p style='margin:2px 0'>{escape(clean(line))}</p>"
                                 for line in body.splitlines() if line.strip())
            parts.append(f"<h3 style='margin:8px 0 2px 0'>{escape(heading)}</h3>{paragraphs}")
        if not sections:  # a dataset that codes labels and ships no report (NIH, CheXpert)
            parts.append("<p style='color:gray'>The dataset has no report text for this film.</p>")
        parts.append(findings_html(getattr(report, "findings", ()), getattr(report, "findings_from", "report")))
        self.text.setHtml("".join(parts))


STATUS_STYLE = {
    "positive": ("#b5473c", "present"),
    "uncertain": ("#c08a1e", "uncertain"),
    "negative": ("#3d7a52", "absent"),
}


FINDINGS_TITLE = {"report": "Findings stated", "dataset": "Labels from the dataset's table"}


def findings_html(findings, origin: str = "report") -> str:
    """The observations the report states (or, ``origin`` "dataset", the labels the dataset's
    table codes for the film), CheXpert's order first, coloured by status."""
    from cxrviewer.reports.labels import ALL_LABELS

    stated = dict(findings)
    if not stated:
        return ""
    chips = []
    for label in ALL_LABELS:
        status = stated.get(label)
        if status in STATUS_STYLE:
            colour, word = STATUS_STYLE[status]
            chips.append(f"<span style='background:{colour}; color:white'>&nbsp;{escape(label)}: "
                         f"{word}&nbsp;</span>")
    title = FINDINGS_TITLE.get(origin, FINDINGS_TITLE["report"])
    return (f"<h3 style='margin:10px 0 2px 0'>{escape(title)}</h3><p style='line-height:160%'>"
            + " ".join(chips) + "</p>")
