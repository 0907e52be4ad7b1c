"""Job callbacks onto the GUI thread: the ``post`` that ``services.jobs`` needs, made of a queued
signal (Qt's own way across threads: a call posted from a worker runs in the GUI's event loop)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from cxrviewer.services.jobs import Jobs


class GuiThread(QObject):
    """``post(call)`` from any thread runs ``call()`` on the GUI thread; calls posted after this
    object is gone (its window closed and deleted) are dropped by Qt."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, call: Callable[[], None]) -> None:
        self._call.emit(call)

    def _run(self, call: Callable[[], None]) -> None:
        call()


def gui_jobs(name: str, parent: QObject) -> Jobs:
    """A worker thread of its own for a dialog (training), its callbacks on the GUI thread."""
    return Jobs(name, GuiThread(parent).post)
