"""Plain-Python executors that do the slow work (scans, decoding, models) off the GUI thread.

No Qt here: the GUI wraps an :class:`Executor` in a bridge that turns its callbacks into queued
signals. Only plain data (numpy arrays, frozen dataclasses) crosses threads.
"""

from cxrviewer.services.executor import Cancelled, Executor, Job, JobContext, JobEvent

__all__ = ["Cancelled", "Executor", "Job", "JobContext", "JobEvent"]
