"""Side-by-side comparison of the viewed film and a result, with window/level kept in step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QDialog, QGridLayout, QLabel, QWidget

from cxrviewer.imaging.records import Window

if TYPE_CHECKING:
    from cxrviewer.gui.viewer import ImageViewer
    from cxrviewer.services.session import Session


class CompareDialog(QDialog):
    """Two viewers; dragging window/level on either moves both (when "Sync W/L" is on).

    Radiographs of different sources have different value ranges, so the sync carries the
    window as a fraction of each image's own range rather than raw numbers.
    """

    def __init__(self, parent=None) -> None:
        from cxrviewer.gui.viewer import ImageViewer

        super().__init__(parent)
        self.setWindowTitle("Compare films")
        self.resize(1200, 700)
        self.left = ImageViewer()
        self.right = ImageViewer()
        self.left_title = QLabel()
        self.right_title = QLabel()
        self.sync = QCheckBox("Sync window/level")
        self.sync.setChecked(True)
        layout = QGridLayout(self)
        layout.addWidget(self.left_title, 0, 0)
        layout.addWidget(self.right_title, 0, 1)
        layout.addWidget(self.left, 1, 0)
        layout.addWidget(self.right, 1, 1)
        layout.addWidget(self.sync, 2, 0, 1, 2)
        layout.setRowStretch(1, 1)
        self._syncing = False
        self.left.levelsChanged.connect(lambda c, w: self._follow(self.left, self.right))
        self.right.levelsChanged.connect(lambda c, w: self._follow(self.right, self.left))

    def show_left(self, opened, title: str) -> None:
        self.left_title.setText(f"Viewed film: {title}")
        self._syncing = True
        try:
            self.left.show_image(opened)
        finally:
            self._syncing = False

    def set_right_title(self, title: str) -> None:
        self.right_title.setText(title)
        self.right.clear()
        self.right.placeholder.setText("Loading…")

    def show_right(self, opened) -> None:
        self._syncing = True
        try:
            self.right.show_image(opened)
        finally:
            self._syncing = False
        self._follow(self.left, self.right)

    def right_failed(self, reason: str) -> None:
        self.right.show_error("Cannot show this film", reason)

    def _follow(self, source, target) -> None:
        if self._syncing or not self.sync.isChecked() or source.image is None or target.image is None:
            return
        if source.window is None or source.image.is_color or target.image.is_color:
            return
        s_low, s_high = source.image.sample_range
        t_low, t_high = target.image.sample_range
        scale = (t_high - t_low) / max(s_high - s_low, 1e-9)
        window = Window(t_low + (source.window.center - s_low) * scale, max(1.0, source.window.width * scale))
        self._syncing = True
        try:
            target.set_window(window, "Synced")
            if target.user_invert != source.user_invert:
                target.toggle_invert()
        finally:
            self._syncing = False


class CompareController(QObject):
    """"Compare": the viewed film beside a result, whose film it opens in the image worker."""

    def __init__(self, session: Session, viewer: Callable[[], ImageViewer], parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self._viewer = viewer
        self._parent = parent
        self.dialog: CompareDialog | None = None

    def compare(self, hit: Any) -> None:
        if hit is None:
            return
        viewer = self._viewer()
        if viewer.opened is None:  # nothing to compare with: show the result instead
            self.session.search.activate(hit)
            return
        from cxrviewer.services import study as jobs

        if self.dialog is None:
            self.dialog = CompareDialog(self._parent)
        self.dialog.show_left(viewer.opened, Path(self.session.film.path or "").name)
        self.dialog.set_right_title(f"#{hit.rank} {hit.case.case_id} · score {hit.score:.3f}")
        self.dialog.show()
        self.dialog.raise_()
        dialog = self.dialog
        self.session.workers.image.submit(
            jobs.open_image, hit.case.image, channel="compare", on_done=dialog.show_right,
            on_error=lambda exc: dialog.right_failed(getattr(exc, "reason", None) or str(exc)))
