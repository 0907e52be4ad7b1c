"""The window's start: shown at once, the rest after its first paint.

The viewer's imports (pyqtgraph + numpy, ~0.4 s) are warmed in a thread once the empty window
is on screen; start-up work queued with ``after(callback)`` (opening the case library, a path
from the command line) runs once that first frame is drawn.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal


class WarmUp(QThread):
    """Imports the viewer's libraries off the GUI thread while the empty window is on screen."""

    done = Signal()

    def run(self) -> None:
        import numpy  # noqa: F401
        import pyqtgraph  # noqa: F401

        import cxrviewer.gui.explain_controller
        import cxrviewer.gui.results_pane
        import cxrviewer.gui.search_controller
        import cxrviewer.gui.viewer
        import cxrviewer.imaging.display  # noqa: F401
        from cxrviewer.services.heap import freeze_long_lived

        freeze_long_lived()
        self.done.emit()


class FirstPaint(QObject):
    """Told by the window's ``paintEvent``; runs ``warm`` after the imports and queued work after
    the first frame."""

    def __init__(self, parent: QObject, warm: Callable[[], None]) -> None:
        super().__init__(parent)
        self.painted = False
        self._pending: list[Callable[[], None]] = []
        self._warmup = WarmUp(self)
        self._warmup.done.connect(warm)

    def paint(self) -> None:
        if not self.painted:
            self.painted = True
            # After the first paint, so the imports' GIL use cannot delay the window appearing.
            self._warmup.start()
            QTimer.singleShot(0, self._run)  # once this frame is on screen

    def after(self, callback: Callable[[], None], fallback_ms: int = 1000) -> None:
        """Run ``callback`` once the window has first been drawn (at once if it has been); a
        window that is never painted (started minimised) still runs it after ``fallback_ms``."""
        self._pending.append(callback)
        QTimer.singleShot(0 if self.painted else fallback_ms, self._run)

    def _run(self) -> None:
        callbacks, self._pending = self._pending, []
        for callback in callbacks:
            callback()

    def stop(self) -> None:
        """The window is closing: queued start-up work must not start; the imports finish."""
        self._pending.clear()
        self._warmup.wait()
