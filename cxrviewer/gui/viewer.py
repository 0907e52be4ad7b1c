"""The radiograph viewer: a bare pyqtgraph ImageItem in a ViewBox, with window/level, zoom and pan,
rotate/flip, invert, a magnifier, pixel readout, length and cardiothoracic-ratio tools, and corner
overlays that honour the Anonymise switch.

Everything here runs on the GUI thread, so it only touches data that is already decoded: the
expensive parts (decode, presets, percentiles) arrive precomputed in an ``OpenedImage``.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from cxrviewer.gui.viewer_items import MAGNIFIER_SOURCE_PX, MAGNIFIER_ZOOM, FastImageItem, ImageViewBox, Magnifier  # noqa: F401 - the zoom, for tests
from cxrviewer.gui.viewer_overlays import CornerOverlays, MessageOverlay, fmt_value, overlay_texts
from cxrviewer.gui.viewer_tools import TOOLS, Measurement, MeasureTools
from cxrviewer.imaging import display
from cxrviewer.imaging.orientation import Orientation
from cxrviewer.imaging.records import VoiPreset, Window

# Row-major matches numpy/DICOM (rows, cols); a raster image needs no antialiasing.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

WL_THROTTLE_MS = 30  # at most ~33 level updates a second while dragging


class ImageViewer(QWidget):
    """Shows one ``LoadedImage`` at a time.

    Signals carry plain values: the main window turns them into status-bar text.
    """

    pixelInfo = Signal(str)
    levelsChanged = Signal(float, float)  # window centre, width (modality units)
    measurementChanged = Signal(str)
    frameDrawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.opened = None  # services.study.OpenedImage
        self.image = None
        self.frame = 0
        self.orientation = Orientation(0, False, False)
        self.window: Window | None = None
        self.preset_name = ""
        self.voi_preset: VoiPreset | None = None  # a LUT preset in force (no window)
        self.user_invert = False
        self.anonymise = False
        self.show_overlays = True
        self.patient_index = 1
        self._pending_window: Window | None = None
        self._displayed: np.ndarray | None = None
        self._stride = 1
        self._overlays_held = False  # while show_image builds the first frame

        self.graphics = pg.GraphicsView(background="k")
        self.view = ImageViewBox()
        self.graphics.setCentralItem(self.view)
        self.item = FastImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.error: str | None = None  # why the film asked for cannot be shown

        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setVisible(False)
        self.frame_slider.valueChanged.connect(self.set_frame)
        self.frame_label = QLabel()
        self.frame_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.graphics, 1)
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.frame_slider, 1)
        slider_row.addWidget(self.frame_label)
        layout.addLayout(slider_row)
        from cxrviewer.gui.saliency_overlay import SaliencyOverlay

        self.saliency = SaliencyOverlay(self)
        layout.addWidget(self.saliency.bar)

        viewport = self.graphics.viewport()
        self.message = MessageOverlay(viewport, "Open a study folder (Ctrl+O) or drop one here")
        self.placeholder = self.message  # the name callers have used for it
        self.overlays = CornerOverlays(self)
        self.tools = MeasureTools(self)
        self.magnifier = Magnifier(viewport)
        self.magnifier_enabled = False

        self._wl_timer = QTimer(self)
        self._wl_timer.setSingleShot(True)
        self._wl_timer.setInterval(WL_THROTTLE_MS)
        self._wl_timer.timeout.connect(self._apply_pending_window)

        self.view.windowDragged.connect(self._on_window_drag)
        self.view.windowDragFinished.connect(self._apply_pending_window)
        self.view.toolDragged.connect(self._on_tool_drag)
        self.view.sigRangeChanged.connect(lambda *_: self._on_range_changed())
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    # -- showing an image ------------------------------------------------------------------

    def show_image(self, opened) -> None:
        """Display a freshly decoded image with its default preset, fitted to the view.

        Only what the first frame needs happens here: one strided upload with its levels and
        LUT, and the fit. The corner overlays follow on the next event-loop turn (or when the
        caller refreshes them after painting), so they never delay the film itself.
        """
        self._overlays_held = True
        try:
            self._show_image(opened)
        finally:
            self._overlays_held = False
        QTimer.singleShot(0, self, self._update_overlays)  # dropped if the viewer is gone

    def _show_image(self, opened) -> None:
        self.clear_measurements()
        self.saliency.clear()  # a map belongs to one film
        self.opened = opened
        self.image = opened.image
        self.frame = 0
        self.orientation = Orientation(0, False, False)
        self.user_invert = False
        self.error = None
        self.message.hide()
        frames = self.image.display_pixels.shape[0]
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, frames - 1)
        self.frame_slider.setValue(0)
        self.frame_slider.blockSignals(False)
        self.frame_slider.setVisible(frames > 1)
        self.frame_label.setVisible(frames > 1)
        self._apply_preset(opened.presets[opened.default_preset], redraw=False)
        self._redraw_pixels()
        self.fit()

    def show_error(self, title: str, reason: str) -> None:
        """No film, and why: ``title`` ("Cannot show x.dcm") over the reason, wrapped to the view."""
        self.clear()
        self.error = reason
        self.message.set_error(True)
        self.message.setText(f"{title}\n\n{reason}")

    def clear(self) -> None:
        self.clear_measurements()
        self.saliency.clear()
        self.opened = self.image = None
        self.error = None
        self.message.set_error(False)
        self._displayed = None
        self.item.clear()
        self.message.show()
        self.frame_slider.setVisible(False)
        self.frame_label.setVisible(False)
        self._update_overlays()

    @property
    def presets(self) -> tuple[VoiPreset, ...]:
        return self.opened.presets if self.opened else ()

    def set_frame(self, frame: int) -> None:
        if self.image is None:
            return
        frame = int(np.clip(frame, 0, self.image.display_pixels.shape[0] - 1))
        if frame == self.frame and self._displayed is not None:
            return
        self.frame = frame
        if self.frame_slider.value() != frame:
            self.frame_slider.setValue(frame)
        self._redraw_pixels()

    def step_frame(self, delta: int) -> None:
        if self.image is not None:
            self.set_frame((self.frame + delta) % self.image.display_pixels.shape[0])

    def _redraw_pixels(self) -> None:
        frame_pixels = self.image.display_pixels[self.frame]
        self._displayed = self.orientation.apply(frame_pixels)
        self._stride = self._stride_for_zoom(self._fit_zoom())
        self._set_item_image()
        self.frame_label.setText(f"{self.frame + 1} / {self.image.display_pixels.shape[0]}")
        self.saliency.refresh()
        self._update_overlays()
        self.frameDrawn.emit()

    # -- level of detail ------------------------------------------------------------------------
    #
    # Shown smaller than 1:1, every other (or every n-th) pixel is all the screen can show, and
    # Qt's nearest-neighbour scaling would drop the rest anyway. Giving the ImageItem that strided
    # copy makes the first frame and every window/level update several times cheaper on a
    # 2k x 2k film; zooming in past the stride restores full resolution. View coordinates stay in
    # full-resolution pixels (the item is stretched over the same rectangle), so measurements,
    # readout and overlays are unaffected.

    def _fit_zoom(self) -> float:
        h, w = self._displayed.shape[:2]
        port = self.graphics.viewport()
        return min(port.width() / w, port.height() / h) if port.width() > 10 else 1.0

    @staticmethod
    def _stride_for_zoom(zoom: float) -> int:
        return max(1, int(1.0 / zoom)) if zoom > 0 else 1

    def _set_item_image(self) -> None:
        s = self._stride
        data = self._displayed if s == 1 else np.ascontiguousarray(self._displayed[::s, ::s])
        rect = QRectF(0, 0, data.shape[1] * s, data.shape[0] * s)
        if self.image.is_color:
            self.item.setImage(data, autoLevels=False, levels=(0, 255), lut=None, rect=rect)
        else:
            mapping = self._mapping()
            self.item.setImage(data, autoLevels=False, levels=mapping.levels, lut=mapping.lut, rect=rect)

    def _on_range_changed(self) -> None:
        self._update_overlays()
        if self._displayed is None:
            return
        wanted = self._stride_for_zoom(self.zoom_percent() / 100.0 * 1.001)  # fit's rounding
        if wanted != self._stride:
            self._stride = wanted
            self._set_item_image()

    # -- window / level -----------------------------------------------------------------------

    def _mapping(self):
        invert = self.image.invert != self.user_invert
        if self.voi_preset is not None:
            return display.mapping_for(self.image, self.voi_preset, invert)
        return display.mapping_for(self.image, self.window, invert)

    def _apply_levels(self) -> None:
        if self.image is None or self.image.is_color:
            return
        mapping = self._mapping()
        self.item.setLookupTable(mapping.lut, update=False)
        self.item.setLevels(mapping.levels)
        if self.window is not None:
            self.levelsChanged.emit(self.window.center, self.window.width)
        self._update_overlays()

    def _apply_preset(self, preset: VoiPreset, redraw: bool = True) -> None:
        self.preset_name = preset.name
        if preset.window is not None:
            self.window = preset.window
            self.voi_preset = None
        else:
            self.voi_preset = preset
            self.window = self.window or display.auto_window(self.image)
        if redraw:
            self._apply_levels()

    def apply_preset(self, index: int) -> None:
        if self.image is not None and 0 <= index < len(self.presets):
            self._apply_preset(self.presets[index])

    def set_window(self, window: Window, name: str = "Custom") -> None:
        self.window = window
        self.voi_preset = None
        self.preset_name = name
        self._apply_levels()

    def _on_window_drag(self, dx: float, dy: float) -> None:
        if self.image is None or self.image.is_color:
            return
        base = self._pending_window or self.window or display.auto_window(self.image)
        self._pending_window = display.window_from_drag(base, dx, dy, self.image)
        if not self._wl_timer.isActive():
            self._wl_timer.start()

    def _apply_pending_window(self) -> None:
        if self._pending_window is not None:
            window, self._pending_window = self._pending_window, None
            self.set_window(window)

    def toggle_invert(self) -> None:
        self.user_invert = not self.user_invert
        self._apply_levels()

    # -- geometry -------------------------------------------------------------------------------

    def fit(self) -> None:
        if self._displayed is not None:
            h, w = self._displayed.shape[:2]
            self.view.setRange(QRectF(0, 0, w, h), padding=0.0)
            self._update_overlays()

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred on what is shown now."""
        if self._displayed is None:
            return
        (x0, x1), (y0, y1) = self.view.viewRange()
        rect = self.view.sceneBoundingRect()
        ratio = self.graphics.devicePixelRatioF() or 1.0
        half_w = rect.width() * ratio / 2
        half_h = rect.height() * ratio / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.view.setRange(xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h), padding=0.0)

    def zoom(self, factor: float) -> None:
        """Zoom by ``factor`` (> 1 magnifies) about the view's centre."""
        self.view.scaleBy((1 / factor, 1 / factor))

    def zoom_percent(self) -> float:
        if self._displayed is None:
            return 0.0
        px, _ = self.view.viewPixelSize()
        return 100.0 / px if px else 0.0

    def rotate(self, degrees: int) -> None:
        self._reorient(self.orientation.rotated(degrees))

    def flip(self, horizontal: bool) -> None:
        self._reorient(self.orientation.flipped_h() if horizontal else self.orientation.flipped_v())

    def reset_view(self) -> None:
        if self.image is None:
            return
        self.user_invert = False
        self._reorient(Orientation(0, False, False))
        self._apply_preset(self.presets[self.opened.default_preset])

    def _reorient(self, orientation: Orientation) -> None:
        if self.image is None:
            return
        self.clear_measurements()  # they were drawn in the old display coordinates
        self.orientation = orientation
        self._redraw_pixels()
        self.fit()

    # -- pixel readout and magnifier ------------------------------------------------------------

    def source_pixel(self, view_point: QPointF) -> tuple[int, int] | None:
        """The original image's (row, col) under a point in view coordinates, or None outside."""
        if self._displayed is None:
            return None
        row, col = math.floor(view_point.y()), math.floor(view_point.x())
        h, w = self._displayed.shape[:2]
        if not (0 <= row < h and 0 <= col < w):
            return None
        return self.orientation.to_source(row, col, self.source_shape())

    def source_shape(self) -> tuple[int, int]:
        rows, cols = self.image.display_pixels.shape[1:3]
        return int(rows), int(cols)

    def describe_pixel(self, row: int, col: int) -> str:
        image = self.image
        stored = image.stored_value(self.frame, row, col)
        if image.is_color:
            return f"x {col}  y {row}   RGB {stored}"
        value = image.modality_value(self.frame, row, col)
        units = f" {image.rescale_type}" if image.rescale_type else ""
        return f"x {col}  y {row}   stored {fmt_value(stored)}   value {fmt_value(value)}{units}"

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self.image is None:
            return
        view_point = self.view.mapSceneToView(scene_pos)
        pixel = self.source_pixel(view_point)
        if pixel is None:
            self.magnifier.hide()
            return
        self.pixelInfo.emit(self.describe_pixel(*pixel))
        if self.magnifier_enabled:
            self._update_magnifier(view_point, self.graphics.mapFromScene(scene_pos))

    def set_magnifier(self, enabled: bool) -> None:
        self.magnifier_enabled = enabled
        if not enabled:
            self.magnifier.hide()

    def magnified_region(self, view_point: QPointF) -> np.ndarray:
        """The full-resolution pixels around a point, mapped to grey exactly as displayed."""
        half = MAGNIFIER_SOURCE_PX // 2
        h, w = self._displayed.shape[:2]
        r0 = int(np.clip(int(view_point.y()) - half, 0, max(0, h - MAGNIFIER_SOURCE_PX)))
        c0 = int(np.clip(int(view_point.x()) - half, 0, max(0, w - MAGNIFIER_SOURCE_PX)))
        crop = self._displayed[r0 : r0 + MAGNIFIER_SOURCE_PX, c0 : c0 + MAGNIFIER_SOURCE_PX]
        if self.image.is_color:
            return np.ascontiguousarray(crop, dtype=np.uint8)
        return display.apply_mapping(np.ascontiguousarray(crop), self._mapping())

    def _update_magnifier(self, view_point: QPointF, widget_pos) -> None:
        self.magnifier.show_region(self.magnified_region(view_point), widget_pos, self.graphics.viewport())

    # -- measurement tools (viewer_tools) ----------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS and tool not in self.tools.plugins:
            raise ValueError(tool)
        self.view.tool = tool
        cursor = Qt.CursorShape.OpenHandCursor if tool == "pan" else Qt.CursorShape.CrossCursor
        self.graphics.viewport().setCursor(cursor)

    @property
    def tool(self) -> str:
        return self.view.tool

    @property
    def measurements(self) -> list[Measurement]:
        return self.tools.measurements

    def clear_measurements(self) -> None:
        self.tools.clear()

    def _on_tool_drag(self, start: QPointF, current: QPointF, finished: bool) -> None:
        if self.image is not None:
            self.tools.drag(self.tool, start, current, finished)

    def measurement_summary(self) -> str:
        return self.tools.summary()

    def last_measurement(self) -> Measurement | None:
        return self.tools.last()

    # -- overlays -------------------------------------------------------------------------------

    def set_anonymise(self, on: bool, patient_index: int = 1) -> None:
        self.anonymise = on
        self.patient_index = patient_index
        self._update_overlays()

    def set_overlays_visible(self, on: bool) -> None:
        self.show_overlays = on
        self._update_overlays()

    def overlay_texts(self) -> dict[str, str]:
        return overlay_texts(self)

    def _update_overlays(self) -> None:
        if not self._overlays_held:
            self.overlays.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        QTimer.singleShot(0, self._update_overlays)
