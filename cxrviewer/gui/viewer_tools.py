"""The viewer's drawing tools: length and cardiothoracic ratio, drawn in display coordinates and
measured in the source image's pixels (through the film's orientation), calibrated when the
file says how (PixelSpacing and its kin).

A tool is an object the viewer owns and feeds its left-drags; other tools (the teaching files'
annotations) plug in with :meth:`MeasureTools.add_tool` and receive the drags made with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFont

from cxrviewer.imaging import measure

if TYPE_CHECKING:
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.imaging.orientation import Orientation

TOOLS = ("pan", "measure", "ctr")
COLOURS = {"length": (255, 215, 0), "cardiac": (255, 90, 90), "thoracic": (90, 200, 255)}
PREFIXES = {"length": "", "cardiac": "Cardiac ", "thoracic": "Thoracic "}


@dataclass
class Measurement:
    kind: str  # "length", "cardiac", "thoracic"
    line: pg.PlotCurveItem
    label: pg.TextItem
    value: float
    unit: str
    source: str = ""  # which calibration the value came from


class MeasureTools:
    """The measurements drawn on one viewer's film."""

    def __init__(self, viewer: ImageViewer) -> None:
        self.viewer = viewer
        self.measurements: list[Measurement] = []
        self._ctr_parts: dict[str, Measurement] = {}
        self._drawing: Measurement | None = None
        self.plugins: dict[str, Callable[[QPointF, QPointF, bool], None]] = {}

    def add_tool(self, tool: str, drag: Callable[[QPointF, QPointF, bool], None]) -> None:
        """Another drawing tool: ``drag(start, current, finished)`` gets its left-drags (view coordinates)."""
        self.plugins[tool] = drag

    def clear(self) -> None:
        view = self.viewer.view
        for m in self.measurements:
            view.removeItem(m.line)
            view.removeItem(m.label)
        self.measurements.clear()
        self._ctr_parts.clear()
        self._drawing = None
        self.viewer.measurementChanged.emit("")

    def drag(self, tool: str, start: QPointF, current: QPointF, finished: bool) -> None:
        """A left-drag with ``tool`` ("measure", "ctr" or a plugged-in tool) from ``start`` to ``current``."""
        if tool in self.plugins:
            self.plugins[tool](start, current, finished)
            return
        if tool == "ctr":
            current = QPointF(current.x(), start.y())  # widths are horizontal
        kind = "length" if tool == "measure" else self._next_ctr_part()
        if self._drawing is None:
            if kind == "cardiac" and "cardiac" in self._ctr_parts:
                self._remove_ctr()
            self._drawing = self._new(kind)
        self._update(self._drawing, start, current)
        if finished:
            done, self._drawing = self._drawing, None
            if done.kind in ("cardiac", "thoracic"):
                self._ctr_parts[done.kind] = done
            self.viewer.measurementChanged.emit(self.summary())

    def _next_ctr_part(self) -> str:
        if self._drawing is not None:
            return self._drawing.kind
        return "thoracic" if set(self._ctr_parts) == {"cardiac"} else "cardiac"

    def _remove_ctr(self) -> None:
        for part in self._ctr_parts.values():
            self.viewer.view.removeItem(part.line)
            self.viewer.view.removeItem(part.label)
            self.measurements.remove(part)
        self._ctr_parts.clear()

    def _new(self, kind: str) -> Measurement:
        colour = COLOURS[kind]
        line = pg.PlotCurveItem(pen=pg.mkPen(colour, width=2))
        label = pg.TextItem(color=colour, anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 160))
        label.setFont(QFont("", 10))
        self.viewer.view.addItem(line, ignoreBounds=True)
        self.viewer.view.addItem(label, ignoreBounds=True)
        m = Measurement(kind, line, label, 0.0, "px")
        self.measurements.append(m)
        return m

    def _update(self, m: Measurement, start: QPointF, end: QPointF) -> None:
        viewer = self.viewer
        m.line.setData([start.x(), end.x()], [start.y(), end.y()])
        shape = viewer.source_shape()
        p0 = source_point(viewer.orientation, start.y(), start.x(), shape)
        p1 = source_point(viewer.orientation, end.y(), end.x(), shape)
        value, unit, source = measure.length(p0, p1, viewer.image.spacing)
        m.value, m.unit = value, unit
        text = f"{PREFIXES[m.kind]}{value:.1f} {unit}"
        if m.kind == "thoracic" and "cardiac" in self._ctr_parts:
            ratio = measure.cardiothoracic_ratio(self._ctr_parts["cardiac"].value, value)
            text += f"\nCTR {ratio:.2f}"
        m.label.setText(text)
        m.label.setPos(end)
        m.source = source

    def summary(self) -> str:
        parts = [f"Length {m.value:.1f} {m.unit}" for m in self.measurements if m.kind == "length"]
        if {"cardiac", "thoracic"} <= set(self._ctr_parts):
            c, t = self._ctr_parts["cardiac"], self._ctr_parts["thoracic"]
            parts.append(f"CTR {measure.cardiothoracic_ratio(c.value, t.value):.2f} "
                         f"(cardiac {c.value:.1f} / thoracic {t.value:.1f} {t.unit})")
        if parts and self.viewer.image is not None:
            parts.append(spacing_note(self.viewer.image.spacing))
        return " · ".join(parts)

    def last(self) -> Measurement | None:
        return self.measurements[-1] if self.measurements else None


def spacing_note(spacing) -> str:
    if spacing is None:
        return "uncalibrated (no pixel spacing): pixels"
    note = f"from {spacing.source}"
    if spacing.note:
        note += f", {spacing.note}"
    return note


def source_point(orientation: Orientation, y: float, x: float, shape: tuple[int, int]) -> tuple[float, float]:
    """A continuous displayed point (pixel-edge coordinates) as (row, col) in the source image.

    The continuous twin of ``Orientation.to_source``: measurements need sub-pixel end points.
    """
    rows, cols = shape
    if orientation.rotation == 0:
        r, c = y, x
    elif orientation.rotation == 90:
        r, c = rows - x, y
    elif orientation.rotation == 180:
        r, c = rows - y, cols - x
    else:
        r, c = x, cols - y
    if orientation.flip_v:
        r = rows - r
    if orientation.flip_h:
        c = cols - c
    return r, c
