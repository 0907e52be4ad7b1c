"""The header scan of a big folder, carried on in a separate process.

Reading DICOM headers is pure Python (pydicom), so a scan thread holds the GIL nearly all the
time; with it in the app's process, the GUI thread waited for the GIL often enough to stall the
event loop for 60-90 ms during a 5,000-file scan. In a spawned process the scan has its own
interpreter, and the thread that waits for its batches only blocks in ``poll`` (no GIL) and
unpickles them. Starting a process costs about 0.1-0.2 s, so a scan begins in the app's thread
and only a folder with more than a study's worth of files is handed over
(:func:`cxrviewer.services.study.scan_folder`).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from typing import Any

from cxrviewer.imaging.records import FileIssue, ImageHeader

POLL_S = 0.05  # how often a waiting scan looks at its cancel flag


class ScanProcessError(RuntimeError):
    """The scan process could not start or died; the caller may carry on in its own thread."""


def _scan_child(conn: Any, root: str, skip: int, batch_seconds: float, batch_max: int) -> None:
    from cxrviewer.imaging.scan import iter_folder

    try:
        batch: list[ImageHeader | FileIssue] = []
        looked = [0]
        last = time.monotonic()
        for item in iter_folder(root, skip=skip, looked_at=looked):
            batch.append(item)
            now = time.monotonic()
            if len(batch) >= batch_max or now - last >= batch_seconds:
                conn.send(("batch", (batch, looked[0])))
                batch, last = [], now
        conn.send(("batch", (batch, looked[0])))
        conn.send(("done", None))
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        return  # the app stopped listening (cancelled or closed)
    except BaseException as exc:  # noqa: BLE001 - reported to the app, which shows it
        conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def iter_batches_in_process(root: str, skip: int = 0, *, should_cancel: Callable[[], bool] | None = None,
                            batch_seconds: float = 0.1, batch_max: int = 500,
                            ) -> Iterator[tuple[list[ImageHeader | FileIssue], int]]:
    """Batches of :func:`~cxrviewer.imaging.scan.iter_folder` ``(root, skip=skip)`` items, read
    in a spawned process, each with the count of files looked at so far (from the folder's
    start: a walk with that ``skip`` carries on after the batch). Cancelling (or closing the
    iterator) kills the process.

    Raises
    ------
    ScanProcessError
        The process could not be started, or died before it finished.
    RuntimeError
        The walk itself failed in the process (the message names the error).
    """
    context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_scan_child, args=(sender, str(root), skip, batch_seconds, batch_max),
                              name="cxrviewer-scan", daemon=True)
    try:
        process.start()
    except Exception as exc:
        raise ScanProcessError(f"the scan process could not start ({type(exc).__name__}: {exc})") from exc
    finally:
        sender.close()
    cancelled = should_cancel or (lambda: False)
    try:
        while True:
            if cancelled():
                return
            if not receiver.poll(POLL_S):
                if not process.is_alive() and not receiver.poll():
                    raise ScanProcessError(f"the scan process stopped (exit code {process.exitcode})")
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise ScanProcessError(f"the scan process stopped (exit code {process.exitcode})") from None
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield payload
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join(5)
