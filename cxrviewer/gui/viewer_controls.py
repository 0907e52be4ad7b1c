"""The viewer's controls around it: window/level presets (toolbar box, menu, keys 1-9), the W/L
readout in the status bar, invert and reset, and the drawing tool with its hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QLabel

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from cxrviewer.gui.viewer import ImageViewer

TOOL_HINTS = {
    "pan": "Drag to pan, wheel to zoom, right-drag for window/level.",
    "measure": "Drag to measure a length.",
    "ctr": "Drag the cardiac width, then the thoracic width (both horizontal).",
}


class ViewerControls(QObject):
    def __init__(self, viewer: Callable[[], ImageViewer], status: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._status = status
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumWidth(200)
        self.preset_combo.activated.connect(self.apply_preset)
        self.wl_label = QLabel()
        self.preset_actions: list[QAction] = []
        self.tool_actions: dict[str, QAction] = {}

    def bind_viewer(self, viewer: ImageViewer) -> None:
        """Called once the viewer exists: its levels show in the W/L readout."""
        viewer.levelsChanged.connect(lambda *_: self.update_wl_label())

    def film_shown(self, _opened: object = None) -> None:
        """A new film: its presets in the box and the menu, its window in the readout."""
        viewer = self._viewer()
        presets = viewer.presets
        self.preset_combo.clear()
        for i, preset in enumerate(presets):
            self.preset_combo.addItem(f"{i + 1}. {preset.name}" if i < 9 else preset.name)
        self.preset_combo.setCurrentIndex(viewer.opened.default_preset)
        for i, action in enumerate(self.preset_actions):
            action.setVisible(i < len(presets))
            if i < len(presets):
                action.setText(presets[i].name)
        self.update_wl_label()

    def apply_preset(self, index: int) -> None:
        self._viewer().apply_preset(index)
        if 0 <= index < self.preset_combo.count():
            self.preset_combo.setCurrentIndex(index)
        self.update_wl_label()

    def toggle_invert(self) -> None:
        self._viewer().toggle_invert()
        self.update_wl_label()

    def reset_view(self) -> None:
        viewer = self._viewer()
        viewer.reset_view()
        if viewer.opened is not None:
            self.preset_combo.setCurrentIndex(viewer.opened.default_preset)
        self.update_wl_label()

    def update_wl_label(self) -> None:
        viewer = self._viewer()
        w = viewer.window
        if w is None or viewer.image is None or viewer.image.is_color:
            self.wl_label.setText("")
            return
        inv = " inverted" if viewer.user_invert else ""
        self.wl_label.setText(f"{viewer.preset_name}: W {w.width:.0f} L {w.center:.0f}{inv}")

    def set_tool(self, tool: str) -> None:
        self._viewer().set_tool(tool)
        action = self.tool_actions.get(tool)
        if action is not None and not action.isChecked():
            action.setChecked(True)
        self._status(TOOL_HINTS[tool])
