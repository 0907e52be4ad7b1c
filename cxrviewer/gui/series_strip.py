"""The series strip: thumbnails of the films of the viewed film's series, under the viewer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from cxrviewer.gui.study_tree_model import PATH_ROLE

if TYPE_CHECKING:
    import numpy as np
    from PySide6.QtGui import QIcon

DONE_ROLE = Qt.ItemDataRole.UserRole + 2


class SeriesStrip(QListWidget):
    """Thumbnails of the current series; thumbnails arrive from the worker as uint8 arrays."""

    imageActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None, thumb_size: int = 96) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(thumb_size, thumb_size))
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFixedHeight(thumb_size + 46)
        self.setSpacing(4)
        self.setUniformItemSizes(True)
        self._items: dict[str, QListWidgetItem] = {}
        self.itemClicked.connect(lambda item: self.imageActivated.emit(item.data(PATH_ROLE)))
        self._placeholder_icon: QIcon | None = None  # made with the first series, not at start-up
        self.hide()  # until a series of two or more films: an empty strip is a blank band

    @property
    def _placeholder(self) -> QIcon:
        if self._placeholder_icon is None:
            from PySide6.QtGui import QIcon, QPixmap

            placeholder = QPixmap(self.thumb_size, self.thumb_size)
            placeholder.fill(Qt.GlobalColor.black)
            self._placeholder_icon = QIcon(placeholder)
        return self._placeholder_icon

    def set_series(self, paths: list[str], labels: dict[str, str]) -> None:
        self.clear()
        self._items = {}
        for path in paths:
            item = QListWidgetItem(self._placeholder, labels.get(path, Path(path).name))
            item.setData(PATH_ROLE, path)
            item.setToolTip(path)
            self.addItem(item)
            self._items[path] = item
        self.setVisible(len(paths) > 1)  # one film needs no strip: the viewer gets the room

    def paths(self) -> list[str]:
        return list(self._items)

    def visible_paths(self, margin: int = 8) -> list[str]:
        """Paths shown in the strip now, plus ``margin`` either side: the thumbnails worth making.

        A CT-like series can hold thousands of images; decoding them all for a strip that shows
        ten would keep the worker busy for minutes.
        """
        if not self._items:
            return []
        first = self.indexAt(self.viewport().rect().topLeft() + QPoint(2, 2)).row()
        last = self.indexAt(self.viewport().rect().topRight() + QPoint(-2, 2)).row()
        first = 0 if first < 0 else first
        last = self.count() - 1 if last < 0 else last
        lo, hi = max(0, first - margin), min(self.count() - 1, last + margin)
        return [self.item(i).data(PATH_ROLE) for i in range(lo, hi + 1)]

    def has_thumbnail(self, path: str) -> bool:
        item = self._items.get(path)
        return item is not None and (item.data(DONE_ROLE) is True)

    def set_thumbnail(self, path: str, pixels: np.ndarray | None, error: str = "") -> None:
        item = self._items.get(path)
        if item is None:
            return
        item.setData(DONE_ROLE, True)
        if pixels is None:
            item.setToolTip(f"{path}\n{error}")
            item.setText("unreadable")
            return
        from PySide6.QtGui import QIcon, QPixmap

        from cxrviewer.gui.qimages import array_to_qimage

        item.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(pixels))))

    def mark_current(self, path: str) -> None:
        item = self._items.get(path)
        if item is not None:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)
            self.scrollToItem(item)

    def thumbnails_loaded(self) -> int:
        return sum(1 for path in self._items if self.has_thumbnail(path))
