"""Background jobs whose results come back through callbacks given at submission.

Like superqt's ``thread_worker`` (``returned``, ``errored``, ``yielded`` per worker), but Qt-free:
each :class:`Jobs` owns one :class:`~cxrviewer.services.executor.Executor` thread, and a job's
callbacks run on the submitter's thread through ``post`` (the window passes a function that
queues a call onto the GUI thread; headless code runs them at once). Whoever submits a job
receives its result; nothing routes results by channel name.

A result that a newer job has made stale is dropped before its callback runs: for a
superseding job, any newer job in its channel; for a non-superseding one, a cancel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cxrviewer.services.events import Event
from cxrviewer.services.executor import Executor, Job, JobEvent

if TYPE_CHECKING:
    Post = Callable[[Callable[[], None]], None]


def _call_now(call: Callable[[], None]) -> None:
    call()


class Activity:
    """Which channels have a job still to end, across every worker: "idle" for the window
    and for tests (``wait until idle``). Only a channel's newest job counts; when the last
    one ends, ``became_idle`` is emitted."""

    def __init__(self) -> None:
        self._busy: dict[str, int] = {}
        self.became_idle = Event("became_idle")

    def started(self, job: Job) -> None:
        self._busy[job.channel] = job.id

    def ended(self, channel: str, job_id: int) -> None:
        if self._busy.get(channel) == job_id:
            del self._busy[channel]
            if not self._busy:
                self.became_idle.emit()

    def is_idle(self) -> bool:
        return not self._busy

    def busy_channels(self) -> tuple[str, ...]:
        return tuple(self._busy)


class Callbacks:
    """What to call (on the submitter's thread) for each thing a job reports; ``on_event`` gets
    every event (for a dialog with its own state machine)."""

    __slots__ = ("on_cancelled", "on_done", "on_error", "on_event", "on_partial", "on_progress")

    def __init__(self, on_done: Callable[[Any], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 on_cancelled: Callable[[], None] | None = None, on_partial: Callable[[Any], None] | None = None,
                 on_progress: Callable[[float, float | None, str], None] | None = None,
                 on_event: Callable[[JobEvent], None] | None = None) -> None:
        self.on_done, self.on_error, self.on_cancelled = on_done, on_error, on_cancelled
        self.on_partial, self.on_progress, self.on_event = on_partial, on_progress, on_event

    def deliver(self, event: JobEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)
        if event.kind == "done" and self.on_done is not None:
            self.on_done(event.payload)
        elif event.kind == "error" and self.on_error is not None:
            self.on_error(event.payload)
        elif event.kind == "cancelled" and self.on_cancelled is not None:
            self.on_cancelled()
        elif event.kind == "partial" and self.on_partial is not None:
            self.on_partial(event.payload)
        elif event.kind == "progress" and self.on_progress is not None:
            self.on_progress(*event.payload)


class Jobs:
    """One worker thread; ``submit(fn, *args, channel=..., on_done=...)`` runs ``fn(context,
    *args)`` there and calls the callbacks back on the submitter's thread.

    Parameters
    ----------
    name
        The worker thread's name ("cxrviewer-search", ...).
    post
        How a callback reaches the submitter's thread (default: called on the worker thread,
        which is the submitter's own in synchronous mode).
    activity
        Told about every job, for "idle".
    synchronous
        Run each job inside ``submit`` (headless tests, scripts).
    """

    def __init__(self, name: str, post: Post | None = None, activity: Activity | None = None,
                 synchronous: bool = False) -> None:
        self.name = name
        self.executor = Executor(name, synchronous=synchronous)
        self.activity = activity or Activity()
        self._post = post or _call_now
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, channel: str, supersede: bool = True,
               on_done: Callable[[Any], None] | None = None, on_error: Callable[[BaseException], None] | None = None,
               on_cancelled: Callable[[], None] | None = None, on_partial: Callable[[Any], None] | None = None,
               on_progress: Callable[[float, float | None, str], None] | None = None,
               on_event: Callable[[JobEvent], None] | None = None) -> Job | None:
        """Queue a job; None once this worker has been shut down (a late timer or signal)."""
        if self._closed:
            return None
        callbacks = Callbacks(on_done, on_error, on_cancelled, on_partial, on_progress, on_event)
        job_ref: list[Job] = []

        def from_worker(event: JobEvent) -> None:
            self._post(lambda: self._deliver(job_ref[0], event, callbacks, supersede))

        def created(job: Job) -> None:
            job_ref.append(job)
            self.activity.started(job)

        return self.executor.submit(fn, *args, channel=channel, supersede=supersede, listener=from_worker,
                                    on_created=created)

    def _deliver(self, job: Job, event: JobEvent, callbacks: Callbacks, supersede: bool) -> None:
        stale = (not self.executor.is_current(job.id, job.channel)) if supersede else job.cancel_requested
        try:
            if not stale and not self._closed:
                callbacks.deliver(event)
        finally:
            if event.kind in ("done", "error", "cancelled"):
                self.activity.ended(job.channel, job.id)

    def cancel_channel(self, channel: str) -> None:
        self.executor.cancel_channel(channel)

    def cancel_all(self) -> None:
        self.executor.cancel_all()

    def busy(self) -> bool:
        return self.executor.busy()

    @property
    def thread(self) -> threading.Thread | None:
        return self.executor.thread

    def shutdown(self, last: Callable[[], Any] | None = None) -> None:
        """Stop taking jobs, cancel what is left and end the thread; ``last`` runs on it after
        its last job (see ``Executor.shutdown``): where the connections its jobs opened close."""
        self._closed = True
        self.executor.shutdown(wait=True, last=last)


class Workers:
    """The session's worker threads, one per kind of work so that none waits behind another:
    a folder scan, opening films (and their reports), the series strip's thumbnails, the
    search worker (libraries, encoders, saliency) and the gallery (thumbnails, library cases)."""

    NAMES = ("scan", "image", "thumbs", "search", "gallery")

    def __init__(self, post: Post | None = None, synchronous: bool = False) -> None:
        self.post: Post = post or _call_now  # for a session part with a worker of its own
        self.synchronous = synchronous
        self.activity = Activity()
        self.scan = Jobs("cxrviewer-scan", post, self.activity, synchronous)
        self.image = Jobs("cxrviewer-image", post, self.activity, synchronous)
        self.thumbs = Jobs("cxrviewer-thumbs", post, self.activity, synchronous)
        self.search = Jobs("cxrviewer-search", post, self.activity, synchronous)
        self.gallery = Jobs("cxrviewer-gallery", post, self.activity, synchronous)

    def all(self) -> tuple[Jobs, ...]:
        return tuple(getattr(self, name) for name in self.NAMES)

    def is_idle(self) -> bool:
        return self.activity.is_idle()

    def shutdown(self, last: dict[str, Callable[[], Any]] | None = None) -> None:
        """End every thread; ``last[name]`` runs on that worker after its last job."""
        last = last or {}
        for jobs in self.all():
            jobs.cancel_all()
        for name in self.NAMES:
            getattr(self, name).shutdown(last=last.get(name))
