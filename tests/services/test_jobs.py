"""Jobs report back through the callbacks given at submission, on the submitter's thread; a result
made stale by a newer job never reaches its callback; "idle" follows every worker."""

from __future__ import annotations

import queue
import threading

from cxrviewer.services.jobs import Jobs, Workers


class OwnerThread:
    """Stands in for the GUI thread: callbacks are posted here and run by ``drain``."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()

    def post(self, call) -> None:
        self.calls.put(call)

    def drain(self, until, timeout: float = 10.0) -> None:
        while not until():
            self.calls.get(timeout=timeout)()


def test_callbacks_run_on_the_submitters_thread_with_the_jobs_values() -> None:
    owner = OwnerThread()
    jobs = Jobs("cxrviewer-test", owner.post)
    seen: list[tuple[str, object, str]] = []
    here = threading.current_thread().name

    def work(context, n):
        for i in range(n):
            context.emit(i)
        context.progress(n, n, "counted")
        return "finished"

    def note(kind):
        return lambda *values: seen.append((kind, values, threading.current_thread().name))

    jobs.submit(work, 3, channel="count", on_partial=note("partial"), on_progress=note("progress"),
                on_done=note("done"))
    owner.drain(lambda: seen and seen[-1][0] == "done")
    assert [(kind, values) for kind, values, _ in seen] == [
        ("partial", (0,)), ("partial", (1,)), ("partial", (2,)), ("progress", (3, 3, "counted")),
        ("done", ("finished",))]
    assert {thread for _, _, thread in seen} == {here}
    errors = []
    jobs.submit(lambda context: 1 / 0, channel="fail", on_error=errors.append, on_done=seen.append)
    owner.drain(lambda: bool(errors))
    assert isinstance(errors[0], ZeroDivisionError)
    jobs.shutdown()
    assert not jobs.thread.is_alive()


def test_a_superseded_result_is_dropped_even_when_it_finished_first() -> None:
    owner = OwnerThread()
    jobs = Jobs("cxrviewer-test", owner.post)
    results = []
    first = jobs.submit(lambda context: "old", channel="search", on_done=results.append)
    first.result(5)  # finished, its callback still queued for the owner thread
    jobs.submit(lambda context: "new", channel="search", on_done=results.append)
    owner.drain(lambda: bool(results))
    assert results == ["new"]
    jobs.shutdown()


def test_jobs_that_do_not_supersede_all_deliver() -> None:
    """Gallery thumbnails are asked for in batches that must all arrive: a later batch used to
    make the earlier one's thumbnails "stale" (the channel's newest job id), and its tiles then
    stayed blank for good."""
    owner = OwnerThread()
    jobs = Jobs("cxrviewer-test", owner.post)
    release = threading.Event()
    thumbnails = []

    def batch(context, ids):
        release.wait(5)
        for case_id in ids:
            context.emit(case_id)
        return len(ids)

    jobs.submit(batch, ["a", "b"], channel="gallery", supersede=False, on_partial=thumbnails.append)
    jobs.submit(batch, ["c"], channel="gallery", supersede=False, on_partial=thumbnails.append)
    release.set()
    owner.drain(lambda: len(thumbnails) == 3)
    assert thumbnails == ["a", "b", "c"]
    jobs.shutdown()


def test_workers_are_idle_once_the_newest_job_of_every_channel_has_ended() -> None:
    owner = OwnerThread()
    workers = Workers(owner.post)
    idle = []
    workers.activity.became_idle.connect(lambda: idle.append(True))
    gate = threading.Event()
    done = []
    workers.search.submit(lambda context: gate.wait(5), channel="search", on_done=done.append)
    workers.image.submit(lambda context: "film", channel="image", on_done=done.append)
    owner.drain(lambda: "film" in done)
    assert not workers.is_idle() and workers.activity.busy_channels() == ("search",)
    gate.set()
    owner.drain(lambda: len(done) == 2)
    assert workers.is_idle() and idle == [True]
    workers.shutdown()
    assert all(not jobs.thread.is_alive() for jobs in workers.all() if jobs.thread is not None)
    assert workers.search.submit(lambda context: None, channel="late") is None  # after shutdown
