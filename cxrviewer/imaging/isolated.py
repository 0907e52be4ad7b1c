"""Decoding compressed pixel data in a worker process that can be abandoned.

A fuzzed JPEG 2000 file made a decoder allocate an 826-million-sample image for 17.6 s before
failing (design.md), and a decoder bug can crash the process. Native decoders cannot be
interrupted from Python, so compressed files are decoded in a separate process: when it takes
longer than ``DECODE_TIMEOUT_S`` it is killed and replaced, and a crash there costs only that
process. Uncompressed files keep the in-process fast path (no pickling of the pixels).
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import os
import threading
from typing import Any

from cxrviewer.imaging.records import ImageReadError

DECODE_TIMEOUT_S = 30.0


class DecodeAbandoned(Exception):
    """The worker process timed out or died; it has been replaced."""


def _serve(conn: Any) -> None:
    """The worker process: run ``module:function(*args)`` requests until the pipe closes."""
    while True:
        try:
            target, args = conn.recv()
        except (EOFError, OSError):
            return
        module, _, name = target.partition(":")
        try:
            result = (True, getattr(importlib.import_module(module), name)(*args))
        except BaseException as exc:  # noqa: BLE001 - decoders raise Rust panics (BaseException)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return
            if not isinstance(exc, Exception):
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            result = (False, exc)
        try:
            conn.send(result)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send((False, RuntimeError(f"result could not be returned: {exc}")))


class IsolatedWorker:
    """One spawned process serving calls one at a time; thread-safe (calls are serialised)."""

    def __init__(self, timeout: float = DECODE_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None

    def _ensure(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), name="cxrviewer-decoder", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def call(self, target: str, *args: Any, timeout: float | None = None) -> Any:
        """``module:function(*args)`` in the worker; DecodeAbandoned after ``timeout`` or a crash."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            self._ensure()
            try:
                self._conn.send((target, args))
                if not self._conn.poll(limit):
                    self._restart()
                    raise DecodeAbandoned(f"decoding took longer than {limit:.0f} s and was abandoned "
                                          "(a damaged or hostile file?)")
                ok, value = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                self._restart()
                raise DecodeAbandoned(CRASHED) from None
        if not ok:
            raise value
        return value

    def _restart(self) -> None:
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)

    def close(self) -> None:
        with self._lock:
            self._restart()


_shared: IsolatedWorker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> IsolatedWorker:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = IsolatedWorker(float(os.environ.get("CXRVIEWER_DECODE_TIMEOUT", DECODE_TIMEOUT_S)))
            atexit.register(_shared.close)
        return _shared


def warm() -> bool:
    """Imported in the worker ahead of the first compressed film (spawning and imports ~1 s)."""
    import pydicom.pixels  # noqa: F401

    import cxrviewer.imaging.dicom  # noqa: F401

    return True


def is_compressed(path: str) -> bool:
    """True for DICOM files whose pixel data is encapsulated (JPEG, JPEG 2000, JPEG-LS, RLE...);
    False for a damaged or unknown Transfer Syntax UID (load_image says what is wrong)."""
    from cxrviewer.imaging.dicom import read_header, syntax

    try:
        uid = read_header(path).transfer_syntax_uid
    except ImageReadError:
        return False  # load_image gives the reason, in process
    return syntax.is_compressed(uid)


CRASHED = "the decoder crashed on this file"
# GDCM ends its process on some damaged codestreams (an uncaught C++ exception: abort); the other
# decoders may still read such a file, so a crash gets a second attempt without it.
CRASH_PRONE = ("gdcm",)
CRASH_NOTE = "the GDCM decoder crashed on this file"


def load_image_without(path: str, plugins: tuple[str, ...]) -> Any:
    """In the worker: ``dicom.load_image`` with the decoders ``plugins`` left out."""
    from cxrviewer.imaging.dicom import SKIPPED_PLUGINS, load_image

    token = SKIPPED_PLUGINS.set(tuple(plugins))
    try:
        return load_image(path)
    finally:
        SKIPPED_PLUGINS.reset(token)


def load_image_isolated(path: str, timeout: float | None = None) -> Any:
    """``dicom.load_image`` in the worker process for compressed files, in process otherwise."""
    import dataclasses

    from cxrviewer.imaging.dicom import load_image

    if not is_compressed(path):
        return load_image(path)
    worker = shared_worker()
    try:
        return worker.call("cxrviewer.imaging.dicom:load_image", path, timeout=timeout)
    except DecodeAbandoned as exc:
        if str(exc) != CRASHED:
            raise ImageReadError(path, str(exc)) from None
    note = CRASH_NOTE
    try:
        image = worker.call("cxrviewer.imaging.isolated:load_image_without", path, CRASH_PRONE, timeout=timeout)
    except DecodeAbandoned as exc:
        raise ImageReadError(path, f"{exc} (with and without {', '.join(CRASH_PRONE)})") from None
    except ImageReadError as exc:
        raise ImageReadError(path, f"{exc.reason}; {note}") from None
    return dataclasses.replace(image, warnings=(*image.warnings, f"{note}: decoded without it"))
