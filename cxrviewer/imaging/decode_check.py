"""``cxrviewer info --decode PATH``: decode every frame of every file, as a teaching session will.

A folder received from elsewhere can look fine to the header scan and still hold films that do
not decode (truncated pixel data, a codec that is not installed, a damaged codestream). This
check decodes each file in an isolated decoder process (a hang or a crash there costs one file,
never the check) and maps every frame for display, so a teacher learns before the session which
films will not show, and why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from cxrviewer.imaging.records import FileIssue, ImageHeader, ImageReadError

DECODE_TIMEOUT_S = 60.0  # per file: a 20-frame JPEG 2000 series on a slow laptop stays well inside


@dataclass(frozen=True)
class DecodeResult:
    """One file: decoded (with what it holds) or failed (with why)."""

    path: str
    ok: bool
    reason: str = ""  # why it cannot be shown
    stage: str = ""  # "header" (the scan refused it) or "decode"
    frames: int = 0
    rows: int = 0
    columns: int = 0
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings), "seconds": round(self.seconds, 3)}


def decode_summary(path: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """In the decoder process: decode ``path`` fully (without the decoders ``skip``), map every
    frame for display, and return only what the report needs (pixels never cross the pipe)."""
    import warnings

    from cxrviewer.imaging.display import apply_mapping, default_preset, mapping_for
    from cxrviewer.imaging.isolated import load_image_without

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = load_image_without(path, skip)
        mapping = mapping_for(image, default_preset(image), image.invert)
        for frame in range(image.frames):
            apply_mapping(image.display_pixels[frame, ::8, ::8], mapping)
    return {"frames": image.frames, "rows": image.rows, "columns": image.columns, "warnings": list(image.warnings)}


def quiet() -> bool:
    """In the decoder process: codecs print their complaints ("Corrupt JPEG data") straight to
    file descriptor 2; the report says what matters, once."""
    import logging

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)
    return True


def check(root: str, *, timeout: float = DECODE_TIMEOUT_S,
          progress: Callable[[int, int], None] | None = None) -> Iterator[DecodeResult]:
    """A result for every file the folder scan finds (reports and litter aside), in scan order."""
    from cxrviewer.imaging.dicom.errors import unexpected
    from cxrviewer.imaging.isolated import DecodeAbandoned, IsolatedWorker
    from cxrviewer.imaging.scan import iter_folder

    items = [item for item in iter_folder(root)
             if not (isinstance(item, FileIssue) and item.severity == "warning")
             and not (isinstance(item, ImageHeader) and item.is_report)]
    worker = IsolatedWorker(timeout)
    try:
        try:
            worker.call("cxrviewer.imaging.decode_check:quiet")
        except DecodeAbandoned:
            pass  # the decoder could not start: each file below says so
        for done, item in enumerate(items, 1):
            if isinstance(item, FileIssue):
                yield DecodeResult(item.path, False, item.reason, "header")
            else:
                started = time.perf_counter()
                try:
                    found = _decode(worker, item.path)
                except ImageReadError as exc:
                    yield DecodeResult(item.path, False, exc.reason, "decode", seconds=time.perf_counter() - started)
                except DecodeAbandoned as exc:
                    yield DecodeResult(item.path, False, str(exc), "decode", seconds=time.perf_counter() - started)
                except Exception as exc:  # noqa: BLE001 - one file's failure, whatever it is
                    yield DecodeResult(item.path, False, unexpected(exc), "decode",
                                       seconds=time.perf_counter() - started)
                else:
                    yield DecodeResult(item.path, True, "", "decode", found["frames"], found["rows"], found["columns"],
                                       tuple(found["warnings"]), time.perf_counter() - started)
            if progress is not None:
                progress(done, len(items))
    finally:
        worker.close()


def _decode(worker: Any, path: str) -> dict[str, Any]:
    """As the window decodes: a crash gets a second attempt without the crash-prone decoder."""
    from cxrviewer.imaging.isolated import (
        CRASH_NOTE,
        CRASH_PRONE,
        CRASHED,
        DecodeAbandoned,
    )

    target = "cxrviewer.imaging.decode_check:decode_summary"
    try:
        return worker.call(target, path)
    except DecodeAbandoned as exc:
        if str(exc) != CRASHED:
            raise
    try:
        found = worker.call(target, path, CRASH_PRONE)
    except ImageReadError as exc:
        raise ImageReadError(path, f"{exc.reason}; {CRASH_NOTE}") from None
    found["warnings"].append(f"{CRASH_NOTE}: decoded without it")
    return found


def format_results(root: str, results: list[DecodeResult], seconds: float) -> str:
    failed = [r for r in results if not r.ok]
    warned = [r for r in results if r.ok and r.warnings]
    frames = sum(r.frames for r in results if r.ok)

    def name(path: str) -> str:
        rel = os.path.relpath(path, root) if os.path.isdir(root) else os.path.basename(path)
        return path if rel.startswith("..") else rel

    lines = [f"{root}: {len(results)} file(s) checked in {seconds:.1f} s: {len(results) - len(failed)} decode "
             f"({frames} frame(s)), {len(failed)} cannot be shown"]
    if failed:
        lines.append("  cannot be shown:")
        lines += [f"    {name(r.path)}: {r.reason}" for r in failed]
    if warned:
        lines.append("  shown with a warning:")
        lines += [f"    {name(r.path)}: {'; '.join(r.warnings)}" for r in warned]
    return "\n".join(lines)
