"""A case's annotations drawn on a viewer, and the tools that draw new ones.

Annotations are stored in film pixel coordinates (``teaching.model``); the layer carries each
point through the viewer's flips and rotation (``teaching.render.to_display``, the same rule the
exports burn in) every time the film is drawn, so a mark stays on the same film pixels whatever
the zoom, pan, rotation or flip. The tools do the reverse (``viewer_tools.source_point``) and
hand a finished :class:`Annotation` to whoever stores it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from cxrviewer.gui.viewer_tools import source_point
from cxrviewer.teaching.model import DEFAULT_COLOR, Annotation, Point, TeachingError
from cxrviewer.teaching.render import to_display

if TYPE_CHECKING:
    from cxrviewer.gui.viewer import ImageViewer

ANNOTATION_TOOLS = ("arrow", "ellipse", "freehand", "line", "text")
MIN_STROKE_PX = 1.0  # a drag shorter than this (film pixels) draws nothing


class AnnotationLayer:
    """The annotations of the film on one viewer (those of the frame shown)."""

    def __init__(self, viewer: ImageViewer) -> None:
        self.viewer = viewer
        self.annotations: tuple[Annotation, ...] = ()
        self.visible = True
        self.selected = ""  # annotation id drawn thicker
        self.items: dict[str, list[object]] = {}
        viewer.frameDrawn.connect(self.redraw)

    def set_annotations(self, annotations: Sequence[Annotation]) -> None:
        self.annotations = tuple(annotations)
        self.redraw()

    def set_visible(self, on: bool) -> None:
        self.visible = on
        self.redraw()

    def select(self, annotation_id: str) -> None:
        self.selected = annotation_id
        self.redraw()

    def to_view(self, point: Point) -> QPointF:
        x, y = to_display(point, self.viewer.source_shape(), self.viewer.orientation)
        return QPointF(x, y)

    def to_film(self, point: QPointF) -> Point:
        row, col = source_point(self.viewer.orientation, point.y(), point.x(), self.viewer.source_shape())
        return col, row

    def shown_points(self, annotation_id: str) -> list[Point]:
        """Where an annotation's points are drawn now, in view (displayed pixel) coordinates."""
        found = next((a for a in self.annotations if a.annotation_id == annotation_id), None)
        if found is None or annotation_id not in self.items:
            return []
        return [(p.x(), p.y()) for p in (self.to_view(q) for q in found.points)]

    def clear_items(self) -> None:
        for items in self.items.values():
            for item in items:
                self.viewer.view.removeItem(item)
        self.items.clear()

    def redraw(self) -> None:
        self.clear_items()
        if not self.visible or self.viewer.image is None:
            return
        for annotation in self.annotations:
            if annotation.frame == self.viewer.frame:
                width = 4 if annotation.annotation_id == self.selected else 2
                self.items[annotation.annotation_id] = draw(self.viewer, annotation,
                                                            [self.to_view(p) for p in annotation.points], width)


def draw(viewer: ImageViewer, annotation: Annotation, points: list[QPointF], width: int = 2) -> list[object]:
    """Graphics items for one annotation at ``points`` (view coordinates), added to the viewer."""
    items = add_path(viewer, annotation.kind, points, annotation.color, width)
    if annotation.text:
        label = pg.TextItem(annotation.text, color=QColor(annotation.color),
                            anchor=(0.5, 0.5) if annotation.kind == "text" else (1, 1), fill=pg.mkBrush(0, 0, 0, 150))
        label.setFont(QFont("", 11, QFont.Weight.Bold))
        label.setPos(points[0])
        viewer.view.addItem(label, ignoreBounds=True)
        items.append(label)
    return items


def add_path(viewer: ImageViewer, kind: str, points: list[QPointF], color: str, width: int) -> list[object]:
    path = shape_path(kind, points)
    if path is None:
        return []
    item = QGraphicsPathItem(path)
    pen = QPen(QColor(color), width)
    pen.setCosmetic(True)  # as wide on screen whatever the zoom
    item.setPen(pen)
    viewer.view.addItem(item, ignoreBounds=True)
    return [item]


def shape_path(kind: str, points: list[QPointF]) -> QPainterPath | None:
    path = QPainterPath()
    if kind in ("arrow", "line"):
        path.moveTo(points[0])
        path.lineTo(points[1])
        if kind == "arrow":
            path.addPolygon(arrow_head(points[0], points[1]))
            path.closeSubpath()
    elif kind == "ellipse":
        a, b = points
        path.addEllipse(min(a.x(), b.x()), min(a.y(), b.y()), abs(a.x() - b.x()), abs(a.y() - b.y()))
    elif kind == "freehand":
        path.addPolygon(QPolygonF([*points, points[0]]))
    else:
        return None
    return path


def arrow_head(tail: QPointF, head: QPointF) -> QPolygonF:
    length = math.hypot(head.x() - tail.x(), head.y() - tail.y())
    size = max(3.0, min(0.25 * length, 40.0))
    angle = math.atan2(head.y() - tail.y(), head.x() - tail.x())
    spread = math.radians(25)
    return QPolygonF([head,
                      QPointF(head.x() - size * math.cos(angle - spread), head.y() - size * math.sin(angle - spread)),
                      QPointF(head.x() - size * math.cos(angle + spread), head.y() - size * math.sin(angle + spread)),
                      head])


class AnnotationTools:
    """The annotation tools on a viewer: drags (and, for text, clicks) become annotations in
    film coordinates, handed to ``on_drawn``. ``ask_text(title)`` asks for a text label."""

    def __init__(self, layer: AnnotationLayer, on_drawn: Callable[[Annotation], None],
                 ask_text: Callable[[str], str]) -> None:
        self.layer = layer
        self.on_drawn = on_drawn
        self.ask_text = ask_text
        self.color = DEFAULT_COLOR
        self._stroke: list[QPointF] = []
        self._preview: list[object] = []
        viewer = layer.viewer
        for tool in ANNOTATION_TOOLS:
            viewer.tools.add_tool(tool, self._dragging_with(tool))
        viewer.graphics.scene().sigMouseClicked.connect(self._clicked)

    def _dragging_with(self, tool: str) -> Callable[[QPointF, QPointF, bool], None]:
        return lambda start, current, finished: self.drag(tool, start, current, finished)

    def drag(self, tool: str, start: QPointF, current: QPointF, finished: bool) -> None:
        if not self._stroke:
            self._stroke = [start]
        if tool == "freehand":
            self._stroke.append(current)
        else:
            self._stroke = [start, current]
        self._clear_preview()
        if not finished:
            if tool != "text" and (tool != "freehand" or len(self._stroke) >= 3):
                self._preview = add_path(self.layer.viewer, tool, self._stroke, self.color, 1)
            return
        stroke, self._stroke = self._stroke, []
        if tool == "text":
            self.place_text(stroke[-1])
            return
        points = tuple(self.layer.to_film(p) for p in stroke)
        if max(math.dist(points[0], p) for p in points) < MIN_STROKE_PX:
            return
        try:
            annotation = Annotation(tool, points, color=self.color, frame=self.layer.viewer.frame)
        except TeachingError:  # a freehand stroke of two points: too small to be a region
            return
        self.on_drawn(annotation)

    def place_text(self, at: QPointF, text: str | None = None) -> None:
        """A text label at ``at`` (view coordinates), asking for its text unless given."""
        text = self.ask_text("Text label") if text is None else text
        if text.strip():
            self.on_drawn(Annotation("text", (self.layer.to_film(at),), text.strip(), self.color,
                                     self.layer.viewer.frame))

    def _clicked(self, event) -> None:
        viewer = self.layer.viewer
        if viewer.tool != "text" or event.button() != Qt.MouseButton.LeftButton or viewer.image is None:
            return
        self.place_text(viewer.view.mapSceneToView(event.scenePos()))

    def _clear_preview(self) -> None:
        for item in self._preview:
            self.layer.viewer.view.removeItem(item)
        self._preview = []
