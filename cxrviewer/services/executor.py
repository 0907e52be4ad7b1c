"""A single-thread executor with request ids, superseding, cancellation and progress.

Patterned on napari's slicer and Orange3's ConcurrentMixin: every job has an increasing id and a
channel ("scan", "image", "search", ...). Submitting to a channel supersedes that channel's older
jobs (queued ones never start, a running one is asked to stop), and :meth:`Executor.is_current`
lets the receiver drop a stale result that raced in anyway.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job (by :meth:`JobContext.check`) when it has been cancelled."""


@dataclass(frozen=True)
class JobEvent:
    """Something a job reports while it runs, or its end.

    kind "progress": ``payload`` is ``(done, total, message)``; "partial": a streamed piece of the
    result; "done": the result; "error": the exception; "cancelled": None.
    """

    job_id: int
    channel: str
    kind: Literal["progress", "partial", "done", "error", "cancelled"]
    payload: Any = None


Listener = Callable[[JobEvent], None]


class JobContext:
    """Handed to the job function: the way it reports progress and learns it should stop."""

    def __init__(self, job: Job, listener: Listener | None) -> None:
        self._job = job
        self._listener = listener

    @property
    def job_id(self) -> int:
        return self._job.id

    def should_cancel(self) -> bool:
        return self._job.cancel_requested

    def check(self) -> None:
        if self._job.cancel_requested:
            raise Cancelled()

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self._send("progress", (done, total, message))

    def emit(self, payload: Any) -> None:
        """Stream a partial result to the receiver (e.g. a batch of scanned files)."""
        self._send("partial", payload)

    def _send(self, kind: Literal["progress", "partial"], payload: Any) -> None:
        if self._listener is not None and not self._job.cancel_requested:
            self._listener(JobEvent(self._job.id, self._job.channel, kind, payload))


class Job:
    """A submitted request: its id, channel and :class:`concurrent.futures.Future`.

    ``listener``, when given, receives this job's events instead of the executor's listener
    (per-job callbacks, as superqt's workers have).
    """

    def __init__(self, job_id: int, channel: str, fn: Callable[..., Any], args: tuple, kwargs: dict,
                 listener: Listener | None = None) -> None:
        self.id = job_id
        self.channel = channel
        self.future: Future[Any] = Future()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self.listener = listener
        self.cancel_requested = False

    def cancel(self) -> None:
        self.cancel_requested = True
        self.future.cancel()  # succeeds only while still queued

    def result(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.channel}>"


class Executor:
    """One worker thread running jobs in submission order.

    Parameters
    ----------
    name
        Thread name (shows up in stall reports and debuggers).
    listener
        Called from the worker thread with every :class:`JobEvent` of jobs submitted without a
        listener of their own (``services.jobs`` gives each job its callbacks). Must not block.
    synchronous
        Run jobs in the caller's thread at submit time (deterministic tests, CLI use).
    """

    _ids = itertools.count(1)  # shared by all executors, so ids order requests app-wide

    def __init__(self, name: str = "cxrviewer-worker", listener: Listener | None = None,
                 synchronous: bool = False) -> None:
        self.name = name
        self.listener = listener
        self.synchronous = synchronous
        self._queue: deque[Job] = deque()
        self._latest: dict[str, int] = {}
        self._running: Job | None = None
        self._lock = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._last: list[Callable[[], Any]] = []  # run by the thread as it ends (see shutdown)
        self._finished = False  # the thread has left its loop

    def submit(self, fn: Callable[..., Any], *args: Any, channel: str = "default", supersede: bool = True,
               listener: Listener | None = None, on_created: Callable[[Job], None] | None = None,
               **kwargs: Any) -> Job:
        """Queue ``fn(context, *args, **kwargs)``; with ``supersede`` older jobs of the channel stop.

        ``listener`` takes this job's events (else the executor's listener does); ``on_created``
        sees the job before it can run (in synchronous mode it runs inside this call).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"executor {self.name} is shut down")
            job = Job(next(self._ids), channel, fn, args, kwargs, listener)
            if on_created is not None:
                on_created(job)
            self._latest[channel] = job.id
            if supersede:
                self._cancel_channel_locked(channel, before=job.id)
            if not self.synchronous:
                self._queue.append(job)
                self._ensure_thread_locked()
                self._lock.notify_all()
        if self.synchronous:
            self._run(job)
        return job

    def is_current(self, job_id: int, channel: str) -> bool:
        """True if no newer job was submitted to ``channel`` (the result is still wanted)."""
        return self._latest.get(channel) == job_id

    def cancel_channel(self, channel: str) -> None:
        with self._lock:
            self._cancel_channel_locked(channel, before=None)

    def cancel_all(self) -> None:
        with self._lock:
            for job in list(self._queue):
                job.cancel()
            self._queue.clear()
            if self._running is not None:
                self._running.cancel_requested = True

    def busy(self) -> bool:
        with self._lock:
            return bool(self._queue) or self._running is not None

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._queue and self._running is None, timeout)

    def shutdown(self, wait: bool = True, timeout: float | None = 10.0,
                 last: Callable[[], Any] | None = None) -> None:
        """Cancel what is queued, ask the running job to stop, and end the thread.

        ``last`` runs on the worker thread once the running job has ended (here, at once, when
        no thread is left): the place to close what the jobs opened, such as SQLite connections.
        A job queued for that would be cancelled with the rest.
        """
        with self._lock:
            self._closed = True
            for job in list(self._queue):
                job.cancel()
            self._queue.clear()
            if self._running is not None:
                self._running.cancel_requested = True
            thread = self._thread
            run_here = thread is None or self._finished
            if last is not None and not run_here:
                self._last.append(last)
            self._lock.notify_all()
        if last is not None and run_here:
            self._run_last(last)
        if wait and thread is not None:
            thread.join(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # -- worker side -------------------------------------------------------------------------

    def _cancel_channel_locked(self, channel: str, before: int | None) -> None:
        keep: deque[Job] = deque()
        for job in self._queue:
            if job.channel == channel and (before is None or job.id < before):
                job.cancel()
            else:
                keep.append(job)
        self._queue = keep
        running = self._running
        if running is not None and running.channel == channel and (before is None or running.id < before):
            running.cancel_requested = True

    def _ensure_thread_locked(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queue or self._closed)
                if not self._queue:  # closed and drained
                    self._finished = True
                    last, self._last = self._last, []
                    break
                job = self._queue.popleft()
                self._running = job
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running = None
                    self._lock.notify_all()
        for step in last:
            self._run_last(step)

    def _run_last(self, step: Callable[[], Any]) -> None:
        try:
            step()
        except Exception:  # closing what is left must not stop the rest of the shutdown
            log.exception("closing step of %s failed", self.name)

    def _run(self, job: Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            self._notify(job, JobEvent(job.id, job.channel, "cancelled"))
            return
        context = JobContext(job, job.listener or self.listener)
        try:
            if job.cancel_requested:
                raise Cancelled()
            result = job._fn(context, *job._args, **job._kwargs)
        except (Cancelled, CancelledError):
            job.future.set_exception(Cancelled())
            self._notify(job, JobEvent(job.id, job.channel, "cancelled"))
        except BaseException as exc:  # decoders raise BaseException subclasses (Rust panics)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            log.debug("job %s failed", job, exc_info=True)
            job.future.set_exception(exc)
            self._notify(job, JobEvent(job.id, job.channel, "error", exc))
        else:
            job.future.set_result(result)
            self._notify(job, JobEvent(job.id, job.channel, "done", result))
        finally:
            job._fn = job._args = job._kwargs = None  # type: ignore[assignment]  # free inputs early
            job.listener = None  # its end has been told

    def _notify(self, job: Job, event: JobEvent) -> None:
        listener = job.listener or self.listener
        if listener is not None:
            try:
                listener(event)
            except Exception:  # a broken listener must not kill the worker
                log.exception("job listener failed for %s", event)
