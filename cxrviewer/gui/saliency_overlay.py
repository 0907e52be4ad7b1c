"""The saliency overlay: a second ImageItem over the film, with its controls.

The map covers the whole film (the model saw the film squeezed to a square, uncropped), so it
is drawn stretched over the film's rectangle and goes through the same rotation and flip as the
film's pixels; zoom and pan then move both together because they share the view.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

COLORMAPS = ("inferno", "viridis", "CET-L17")
METHOD_CHOICES = (("Auto", "auto"), ("LayerCAM", "layercam"), ("Grad-CAM", "gradcam"),
                  ("Attention (ViT)", "attention"), ("Integrated gradients", "ig"))


def overlay_lut(colormap: str, opacity: float, threshold: float) -> np.ndarray:
    """256 RGBA entries: the colormap, transparent below ``threshold``, ``opacity`` above."""
    colours = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, 256, alpha=False)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3] = colours[:, :3]
    levels = np.linspace(0.0, 1.0, 256)
    lut[:, 3] = np.where(levels >= threshold, round(255 * opacity), 0)
    return lut


class SaliencyBar(QWidget):
    """Toggle, what to explain, method, opacity, threshold, colormap and export."""

    recomputeRequested = Signal()
    exportRequested = Signal()
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_box = QCheckBox("Saliency")
        self.show_box.setChecked(True)
        self.show_box.setToolTip("Show the saliency map over the film (S)")
        self.target = QComboBox()
        self.target.setToolTip("What the map explains")
        self.method = QComboBox()
        for text, value in METHOD_CHOICES:
            self.method.addItem(text, value)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setMinimumWidth(70)
        self.opacity.setMaximumWidth(110)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 95)
        self.threshold.setValue(20)
        self.threshold.setMinimumWidth(70)
        self.threshold.setMaximumWidth(110)
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.export = QPushButton("Export PNG…")
        self.caption = QLabel()
        self.caption.setStyleSheet("color: palette(mid);")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for widget in (self.show_box, self.target, self.method, QLabel("Opacity"), self.opacity,
                       QLabel("Threshold"), self.threshold, self.colormap, self.export):
            layout.addWidget(widget)
        layout.addWidget(self.caption, 1)
        for signal in (self.show_box.toggled, self.opacity.valueChanged, self.threshold.valueChanged,
                       self.colormap.currentIndexChanged):
            signal.connect(lambda *_: self.changed.emit())
        self.method.activated.connect(lambda _: self.recomputeRequested.emit())
        self.target.activated.connect(lambda _: self.recomputeRequested.emit())
        self.export.clicked.connect(self.exportRequested.emit)

    def set_targets(self, targets: list[tuple[str, tuple[str, str]]], current: tuple[str, str] | None) -> None:
        """``targets`` are (text, (kind, value)); kinds are "text", "case" and "label"."""
        self.target.blockSignals(True)
        self.target.clear()
        for text, value in targets:
            self.target.addItem(text, value)
        if current is not None:
            for i in range(self.target.count()):
                if tuple(self.target.itemData(i)) == tuple(current):
                    self.target.setCurrentIndex(i)
        self.target.blockSignals(False)

    def current_target(self) -> tuple[str, str] | None:
        data = self.target.currentData()
        return tuple(data) if data else None


class SaliencyOverlay:
    """Owned by an ``ImageViewer``: keeps the map and redraws it with the film's orientation."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(10)
        self.item.hide()
        viewer.view.addItem(self.item)
        self.bar = SaliencyBar()
        self.bar.hide()
        self.bar.changed.connect(self.refresh)
        self.values: np.ndarray | None = None
        self.key: tuple | None = None  # (image path, frame, target, method) it belongs to
        self.caption = ""

    def set_map(self, values: np.ndarray, key: tuple, caption: str) -> None:
        self.values = np.ascontiguousarray(np.clip(values, 0.0, 1.0), np.float32)
        self.key = key
        self.caption = caption
        self.bar.caption.setText(caption)
        self.bar.show()
        self.refresh()

    def clear(self) -> None:
        self.values = None
        self.key = None
        self.item.hide()
        self.bar.caption.setText("")

    @property
    def shown(self) -> bool:
        return self.values is not None and self.item.isVisible()

    def refresh(self) -> None:
        viewer = self.viewer
        if self.values is None or viewer._displayed is None or not self.bar.show_box.isChecked():
            self.item.hide()
            return
        oriented = viewer.orientation.apply(self.values)
        data = np.ascontiguousarray(np.round(oriented * 255).astype(np.uint8))
        height, width = viewer._displayed.shape[:2]
        bar = self.bar
        lut = overlay_lut(bar.colormap.currentText(), bar.opacity.value() / 100.0, bar.threshold.value() / 100.0)
        self.item.setImage(data, autoLevels=False, levels=(0, 255), lut=lut, rect=QRectF(0, 0, width, height))
        self.item.show()

    def value_at(self, row: float, col: float) -> float | None:
        """The map's value under a point in display coordinates (for tests and the readout)."""
        if self.values is None or self.viewer._displayed is None:
            return None
        oriented = self.viewer.orientation.apply(self.values)
        height, width = self.viewer._displayed.shape[:2]
        r = int(np.clip(row / height * oriented.shape[0], 0, oriented.shape[0] - 1))
        c = int(np.clip(col / width * oriented.shape[1], 0, oriented.shape[1] - 1))
        return float(oriented[r, c])
