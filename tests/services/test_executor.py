from __future__ import annotations

import threading

import pytest

from cxrviewer.services import Cancelled, Executor, JobEvent


def test_jobs_run_in_order_off_the_calling_thread() -> None:
    seen: list[tuple[int, str]] = []
    executor = Executor("t")
    def job(ctx, i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i

    jobs = [executor.submit(job, i, channel=f"c{i}") for i in range(5)]
    assert [job.result(5) for job in jobs] == [0, 1, 2, 3, 4]
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert {name for _, name in seen} == {"t"}
    executor.shutdown()
    assert not executor.thread.is_alive()


def test_newer_job_supersedes_queued_and_running_ones_in_its_channel() -> None:
    started = threading.Event()
    release = threading.Event()
    events: list[JobEvent] = []
    executor = Executor("t", listener=events.append)

    def slow(ctx):
        started.set()
        release.wait(5)
        ctx.check()  # raises Cancelled once superseded
        return "slow"

    first = executor.submit(slow, channel="query")
    assert started.wait(5)
    queued = executor.submit(lambda ctx: "queued", channel="query")
    other = executor.submit(lambda ctx: "other channel", channel="thumbs")
    last = executor.submit(lambda ctx: "last", channel="query")
    release.set()
    assert last.result(5) == "last"
    assert other.result(5) == "other channel"
    with pytest.raises(Cancelled):
        first.result(5)
    assert queued.future.cancelled()
    assert executor.is_current(last.id, "query") and not executor.is_current(first.id, "query")
    assert executor.wait_until_idle(5)
    kinds = {(e.job_id, e.kind) for e in events}
    assert (first.id, "cancelled") in kinds and (last.id, "done") in kinds
    executor.shutdown()


def test_progress_partials_and_errors_reach_the_listener() -> None:
    events: list[JobEvent] = []
    executor = Executor("t", listener=events.append, synchronous=True)

    def streaming(ctx):
        for i in range(3):
            ctx.emit([i])
            ctx.progress(i + 1, 3, "step")
        return "ok"

    assert executor.submit(streaming).result() == "ok"
    failing = executor.submit(lambda ctx: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    kinds = [e.kind for e in events]
    assert kinds.count("partial") == 3 and kinds.count("progress") == 3
    assert kinds[-2:] == ["done", "error"]
    assert isinstance(events[-1].payload, ZeroDivisionError)


def test_base_exception_from_a_decoder_does_not_kill_the_worker() -> None:
    class PanicException(BaseException):  # what pylibjpeg-rle's Rust panics derive from
        pass

    executor = Executor("t")

    def panic(ctx):
        raise PanicException("rle panic")

    with pytest.raises(PanicException):
        executor.submit(panic).result(5)
    assert executor.submit(lambda ctx: "still alive").result(5) == "still alive"
    executor.shutdown()


def test_shutdown_cancels_pending_and_rejects_new_work() -> None:
    gate = threading.Event()
    executor = Executor("t")
    executor.submit(lambda ctx: gate.wait(5), channel="a")
    pending = executor.submit(lambda ctx: "never", channel="b")
    executor.shutdown(wait=False)
    gate.set()
    executor.thread.join(5)
    assert pending.future.cancelled()
    with pytest.raises(RuntimeError):
        executor.submit(lambda ctx: None)


def test_shutdown_runs_the_closing_step_on_the_worker_after_the_running_job() -> None:
    """The window closed its libraries with a "close" job submitted just before the shutdown,
    which cancelled it whenever the worker was still busy: SQLite's -wal and -shm stayed."""
    started, release = threading.Event(), threading.Event()
    order: list[tuple[str, str]] = []
    executor = Executor("closing")

    def busy(ctx):
        started.set()
        release.wait(5)
        order.append(("job", threading.current_thread().name))

    executor.submit(busy)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    executor.shutdown(last=lambda: order.append(("last", threading.current_thread().name)))
    assert order == [("job", "closing"), ("last", "closing")]
    assert not executor.thread.is_alive()


def test_shutdown_of_an_executor_that_never_ran_closes_at_once() -> None:
    closed: list[str] = []
    Executor("idle").shutdown(last=lambda: closed.append(threading.current_thread().name))
    assert closed == [threading.current_thread().name]
