"""Patient > study > series > image tree, the skipped-files list and the series thumbnail strip.

Scan results stream in batches. The browser's data (headers, report paths, counts) takes each
batch at once; the tree widget's rows are built in chunks of at most ``INSERT_BUDGET_S`` per
event-loop turn, each at its sorted place, so no batch (and no final sort) stalls the GUI thread.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QListWidget,
    QListWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

if TYPE_CHECKING:  # the records arrive with the first scan results, after the window shows
    import numpy as np

    from PySide6.QtGui import QIcon, QImage

    from cxrviewer.imaging.records import FileIssue, ImageHeader

PATH_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
DONE_ROLE = Qt.ItemDataRole.UserRole + 2
# GUI-thread time spent building tree rows per event-loop turn (about 150-250 rows): well under
# the 50 ms chunk that RAIL allows, leaving room for the paint and timers of the same turn.
INSERT_BUDGET_S = 0.008


class SortableItem(QTreeWidgetItem):
    """Sorts by a key tuple (instance number, path) instead of the displayed text.

    ``child_keys`` holds the children's sort keys in order, so a new child is inserted at its
    sorted place by bisection (the tree never needs a whole-tree sort).
    """

    def __init__(self, sort_key: tuple) -> None:
        super().__init__()
        self.sort_key = sort_key
        self.child_keys: list[tuple] = []

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        return self.sort_key < getattr(other, "sort_key", ())

    def add_sorted(self, child: SortableItem) -> None:
        index = bisect.bisect(self.child_keys, child.sort_key)
        self.child_keys.insert(index, child.sort_key)
        self.insertChild(index, child)


class StudyBrowser(QTabWidget):
    """Tabs: the study tree and the files that could not be used, with their reasons."""

    imageActivated = Signal(str)  # path
    seriesActivated = Signal(list)  # paths of the series' images, in order

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Study", "Images"])
        self.tree.setColumnWidth(0, 200)
        self.tree.setUniformRowHeights(True)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.issues = QTreeWidget()
        self.issues.setHeaderLabels(["File", "Reason"])
        self.issues.setColumnWidth(0, 180)
        self.issues.setRootIsDecorated(False)
        self.addTab(self.tree, "Studies")
        self.addTab(self.issues, "Skipped")
        self.anonymise = False
        self._pending: deque = deque()
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)
        self.reset()

    def reset(self) -> None:
        self.tree.clear()
        self.issues.clear()
        self.headers: dict[str, ImageHeader] = {}
        self.report_paths: list[str] = []
        self._patients: dict[str, SortableItem] = {}
        self._studies: dict[str, SortableItem] = {}
        self._series: dict[str, SortableItem] = {}
        self._patient_order: dict[str, int] = {}
        self._leaves: dict[str, SortableItem] = {}
        self._warnings = 0
        self._issue_count = 0
        self._image_count = 0
        self._pending.clear()
        self._drain_timer.stop()
        self._finish_requested = False
        self._update_tab_titles()

    # -- streaming in ---------------------------------------------------------------------------

    def add_items(self, items) -> None:
        """Take a batch of scan results: counts and headers now, tree rows a chunk per turn."""
        from cxrviewer.imaging.records import FileIssue

        for item in items:
            if isinstance(item, FileIssue):
                self._issue_count += 1
            elif item.is_report:
                self.report_paths.append(item.path)
                self.headers[item.path] = item
                continue
            elif item.path in self.headers:
                continue  # already listed (a DICOMDIR entry that the walk found again)
            else:
                self.headers[item.path] = item
                self._image_count += 1
            self._pending.append(item)
        self._drain()

    def pending_rows(self) -> int:
        """Scan results taken but not yet shown as rows (0 once the tree is complete)."""
        return len(self._pending)

    def _drain(self) -> None:
        """Build rows for pending results until the per-turn budget is spent; then yield."""
        from cxrviewer.imaging.records import FileIssue

        if self._pending:
            deadline = time.perf_counter() + INSERT_BUDGET_S
            self.tree.setUpdatesEnabled(False)
            self.issues.setUpdatesEnabled(False)
            try:
                while self._pending:
                    item = self._pending.popleft()
                    if isinstance(item, FileIssue):
                        self._add_issue(item)
                    else:
                        self._add_image(item)
                    if time.perf_counter() >= deadline:
                        break
            finally:
                self.tree.setUpdatesEnabled(True)
                self.issues.setUpdatesEnabled(True)
            self._update_tab_titles()
        if self._pending:
            self._drain_timer.start()
        elif self._finish_requested:
            self._finish_requested = False
            self._finish_now()

    def finish(self) -> None:
        """The scan is complete: fill in counts and expand, once the last rows are built."""
        self._finish_requested = True
        if not self._pending:
            self._drain()

    def _finish_now(self) -> None:
        # Counts were kept up to date row by row; only the first view of the tree is left.
        if self.tree.topLevelItemCount() and not self.tree.selectedItems():
            self.tree.expandToDepth(1)

    def _add_issue(self, issue: FileIssue) -> None:
        row = QTreeWidgetItem([Path(issue.path).name, issue.reason])
        row.setToolTip(0, issue.path)
        row.setToolTip(1, issue.reason)
        row.setData(0, PATH_ROLE, issue.path)
        if issue.severity == "warning":
            self._warnings += 1
            row.setText(1, f"warning: {issue.reason}")
        self.issues.addTopLevelItem(row)

    def _add_image(self, header: ImageHeader) -> None:
        patient_key = header.patient_id or header.patient_name or "(no patient id)"
        if patient_key not in self._patients:
            self._patient_order[patient_key] = len(self._patient_order) + 1
            item = SortableItem((len(self._patients),))
            item.setData(0, KEY_ROLE, patient_key)
            self._patients[patient_key] = item
            self.tree.addTopLevelItem(item)
            self._label_patient(item, header)
        study_key = header.study_uid or str(Path(header.path).parent)
        if study_key not in self._studies:
            item = SortableItem((header.study_date, study_key))
            item.setText(0, " ".join(x for x in (format_dicom_date(header.study_date), header.study_description) if x) or "Study")
            item.setData(0, KEY_ROLE, study_key)
            self._studies[study_key] = item
            self._patients[patient_key].add_sorted(item)
        series_key = header.series_uid or study_key + "/" + str(Path(header.path).parent)
        if series_key not in self._series:
            number = header.series_number if header.series_number is not None else 0
            item = SortableItem((number, series_key))
            label = " ".join(x for x in (header.modality, f"#{header.series_number}" if header.series_number is not None else "", header.series_description or header.view_position) if x)
            item.setText(0, label or "Series")
            item.setData(0, KEY_ROLE, series_key)
            self._series[series_key] = item
            self._studies[study_key].add_sorted(item)
        instance = header.instance_number if header.instance_number is not None else 1 << 30
        leaf = SortableItem((instance, header.path))
        leaf.setText(0, _image_label(header))
        leaf.setToolTip(0, header.path)
        leaf.setData(0, PATH_ROLE, header.path)
        series = self._series[series_key]
        series.add_sorted(leaf)
        self._leaves[header.path] = leaf
        series.setText(1, str(series.childCount()))
        study = self._studies[study_key]
        study.image_count = getattr(study, "image_count", 0) + 1
        study.setText(1, str(study.image_count))

    def _label_patient(self, item: QTreeWidgetItem, header: ImageHeader) -> None:
        key = item.data(0, KEY_ROLE)
        from cxrviewer.imaging.anonymise import masked_header

        shown = masked_header(header, self._patient_order[key]) if self.anonymise else header
        name = shown.patient_name or "(no name)"
        details = " ".join(x for x in (shown.patient_sex, shown.patient_age) if x)
        item.setText(0, f"{name}  {shown.patient_id}  {details}".strip())

    def set_anonymise(self, on: bool) -> None:
        self.anonymise = on
        for key, item in self._patients.items():
            header = self._first_header_of(item)
            if header is not None:
                self._label_patient(item, header)

    def patient_index(self, path: str) -> int:
        header = self.headers.get(path)
        if header is None:
            return 1
        return self._patient_order.get(header.patient_id or header.patient_name or "(no patient id)", 1)

    def _first_header_of(self, item: QTreeWidgetItem) -> ImageHeader | None:
        while item.childCount():
            item = item.child(0)
        return self.headers.get(item.data(0, PATH_ROLE))

    # -- queries --------------------------------------------------------------------------------

    def image_count(self) -> int:
        return self._image_count

    def issue_count(self) -> int:
        return self._issue_count

    def first_image_path(self) -> str | None:
        item = self.tree.topLevelItem(0)
        if item is None:
            return None
        while item.childCount():
            item = item.child(0)
        return item.data(0, PATH_ROLE)

    def series_paths(self, path: str) -> list[str]:
        leaf = self._leaf_for(path)
        if leaf is None or leaf.parent() is None:
            return [path]
        series = leaf.parent()
        return [series.child(i).data(0, PATH_ROLE) for i in range(series.childCount())]

    def study_paths(self, path: str) -> list[str]:
        leaf = self._leaf_for(path)
        if leaf is None or leaf.parent() is None or leaf.parent().parent() is None:
            return [path]
        study = leaf.parent().parent()
        return [study.child(s).child(i).data(0, PATH_ROLE) for s in range(study.childCount()) for i in range(study.child(s).childCount())]

    def select_path(self, path: str) -> None:
        leaf = self._leaf_for(path)
        if leaf is not None:
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(leaf)
            self.tree.blockSignals(False)

    def _leaf_for(self, path: str) -> QTreeWidgetItem | None:
        return self._leaves.get(path)

    def _on_selection(self) -> None:
        items = self.tree.selectedItems()
        if not items:
            return
        item = items[0]
        while item.childCount():
            item = item.child(0)
        path = item.data(0, PATH_ROLE)
        if path:
            self.imageActivated.emit(path)

    def _update_tab_titles(self) -> None:
        count = self._issue_count
        title = f"Skipped ({count})" if count else "Skipped"
        if self.tabText(1) != title:  # setTabText re-lays out the dock, and so repaints the window
            self.setTabText(1, title)


def format_dicom_date(value: str) -> str:
    """DICOM DA "20240131" as "2024-01-31"; anything else unchanged."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _image_label(header: ImageHeader) -> str:
    number = f"#{header.instance_number}" if header.instance_number is not None else Path(header.path).name
    size = f"{header.columns}x{header.rows}" if header.rows else ""
    frames = f"{header.frames} fr" if header.frames > 1 else ""
    return " ".join(x for x in (number, header.view_position, size, frames) if x)


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


def array_to_qimage(pixels: np.ndarray) -> QImage:
    """A deep-copied QImage from a uint8 grey (h, w) or RGB (h, w, 3) array (GUI thread only)."""
    from PySide6.QtGui import QImage

    import numpy as np

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888)
    return image.copy()
