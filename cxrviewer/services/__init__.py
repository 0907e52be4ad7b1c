"""Plain-Python executors that do the slow work (scans, decoding, models) off the GUI thread.

No Qt here: jobs report through callbacks given at submission (:mod:`~cxrviewer.services.jobs`),
which the window has delivered on its GUI thread; the session model
(:mod:`~cxrviewer.services.session`) is what the window shows. Only plain data (numpy arrays,
frozen dataclasses) crosses threads.
"""

from cxrviewer.services.executor import Cancelled, Executor, Job, JobContext, JobEvent

__all__ = ["Cancelled", "Executor", "Job", "JobContext", "JobEvent"]
