"""Turns an executor's worker-thread callbacks into signals delivered on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from cxrviewer.services.executor import Executor, JobEvent


class ExecutorBridge(QObject):
    """Owns an :class:`Executor` whose events arrive as queued ``event`` signals.

    Stale events (from a job superseded in its channel) are dropped here, so widgets only ever
    see results they still want.
    """

    event = Signal(object)  # JobEvent, on the GUI thread

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.executor = Executor(name, listener=self._from_worker)
        self._relay.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    _relay = Signal(object)

    def _from_worker(self, event: JobEvent) -> None:
        self._relay.emit(event)  # queued: crosses to the GUI thread

    def _deliver(self, event: JobEvent) -> None:
        if not self.executor.is_current(event.job_id, event.channel):
            return
        self.event.emit(event)

    def submit(self, fn, *args, channel: str = "default", **kwargs):
        return self.executor.submit(fn, *args, channel=channel, **kwargs)

    def shutdown(self, last=None) -> None:
        """End the worker; ``last`` runs on it after its last job (see ``Executor.shutdown``)."""
        self.executor.shutdown(wait=True, last=last)
