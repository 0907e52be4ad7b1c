"""The viewer's overlays: its message (the start hint, or why a film cannot be shown), and the
corner overlays (patient, study, window/level and geometry) with identifying values masked when
the Anonymise switch is on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QWidget

from cxrviewer.imaging.anonymise import masked_header
from cxrviewer.imaging.synthetic import DEMO_MARK

if TYPE_CHECKING:
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.imaging.records import ImageHeader

CORNERS = {
    "tl": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
    "tr": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
    "bl": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
    "br": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
}


def fmt_value(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"
    return str(value)


class CornerOverlay(QLabel):
    def __init__(self, parent: QWidget, corner: Qt.AlignmentFlag) -> None:
        super().__init__(parent)
        self.corner = corner
        self.setAlignment(corner)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # A translucent backing keeps the text legible over bright bone and white borders.
        self.setStyleSheet("color: #e8e8a0; background: rgba(0, 0, 0, 110); font-size: 11px; padding: 1px 3px;")
        self.setTextFormat(Qt.TextFormat.PlainText)


def _lines(*values: str) -> str:
    return "\n".join(v for v in values if v)


def overlay_texts(viewer: ImageViewer) -> dict[str, str]:
    """What each corner says about the film the viewer shows, as it is shown now."""
    image = viewer.image
    if image is None:
        return {"tl": "", "tr": "", "bl": "", "br": ""}
    header: ImageHeader = image.header
    if viewer.anonymise:
        header = masked_header(header, viewer.patient_index)
    patient = _lines(header.patient_name, f"ID {header.patient_id}" if header.patient_id else "",
                     " ".join(x for x in (header.patient_sex, header.patient_age) if x),
                     f"Born {header.patient_birth_date}" if header.patient_birth_date else "")
    study = _lines(header.institution, header.study_description,
                   " ".join(x for x in (header.study_date, header.study_time[:6] if header.study_time else "") if x),
                   f"Acc {header.accession_number}" if header.accession_number else "",
                   " ".join(x for x in (header.modality, header.view_position, header.body_part) if x))
    if header.synthetic_demo and DEMO_MARK.lower() not in study.lower():
        study = _lines(synthetic_mark(viewer), study)
    levels = ""
    if viewer.window is not None and not image.is_color:
        levels = f"{viewer.preset_name}\nW {fmt_value(viewer.window.width)}  L {fmt_value(viewer.window.center)}"
        if viewer.user_invert:
            levels += "  (inverted)"
    geometry = f"{header.columns} x {header.rows}"
    frames = image.display_pixels.shape[0]
    if frames > 1:
        geometry += f"\nFrame {viewer.frame + 1}/{frames}"
    zoom = viewer.zoom_percent()
    if zoom:
        geometry += f"\nZoom {zoom:.0f}%"
    series = f"Series {header.series_number}" if header.series_number is not None else ""
    if header.instance_number is not None:
        series += f"  Image {header.instance_number}"
    return {"tl": patient, "tr": study, "bl": _lines(levels, series.strip()), "br": geometry}


def synthetic_mark(viewer: ImageViewer) -> str:
    """The line that says a film is not a patient's: shown even when the other overlays are hidden
    (a teaching session's unknown case, anonymised display), since it identifies nobody."""
    image = viewer.image
    if image is None or not image.header.synthetic_demo:
        return ""
    return "SYNTHETIC DEMO DATA - not a real patient"


class CornerOverlays:
    """The four corner labels over a viewer's viewport."""

    def __init__(self, viewer: ImageViewer) -> None:
        self.viewer = viewer
        viewport = viewer.graphics.viewport()
        self.labels = {key: CornerOverlay(viewport, corner) for key, corner in CORNERS.items()}

    def update(self) -> None:
        texts = overlay_texts(self.viewer)
        if not self.viewer.show_overlays:
            texts = {"tl": "", "tr": synthetic_mark(self.viewer), "bl": "", "br": ""}
        viewport = self.viewer.graphics.viewport()
        for key, label in self.labels.items():
            label.setText(texts[key])
            label.setVisible(bool(texts[key]))
            label.adjustSize()
            x = 6 if label.corner & Qt.AlignmentFlag.AlignLeft else viewport.width() - label.width() - 6
            y = 4 if label.corner & Qt.AlignmentFlag.AlignTop else viewport.height() - label.height() - 4
            label.move(x, y)


class MessageOverlay(QLabel):
    """Centred, word-wrapped text over the view: the start hint, or why a film cannot be shown.

    A QLabel on the viewport rather than a text item in the scene: it wraps to the view's width
    (a decode error is often longer than one line) and keeps its place when the view resizes.
    """

    MARGIN = 24

    def __init__(self, parent: QWidget, text: str) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.set_error(False)
        self.setText(text)
        parent.installEventFilter(self)
        self.place()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        # Long unbroken runs (paths, UIDs, codec messages) get places to wrap at.
        super().setText(re.sub(r"(\S{32})(?=\S)", "\\1\u200b", text))

    def plain_text(self) -> str:
        return self.text().replace("\u200b", "")

    def set_error(self, error: bool) -> None:
        colour = "#e8c8a0" if error else "#a0a0a0"
        self.setStyleSheet(f"color: {colour}; font-size: {14 if error else 13}px; background: transparent;")

    def place(self) -> None:
        m = self.MARGIN
        self.setGeometry(self.parentWidget().rect().adjusted(m, m, -m, -m))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.place()
        return False
