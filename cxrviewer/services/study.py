"""Jobs the viewer runs in the background: scanning a folder, opening an image, thumbnails, the
report. Plain functions of ``(context, ...)`` returning plain data, so they also run headless."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cxrviewer.imaging.records import FileIssue, ImageHeader, ImageReadError, VoiPreset
from cxrviewer.services.executor import JobContext

if TYPE_CHECKING:
    import numpy as np

    from cxrviewer.imaging.loaded import LoadedImage

SCAN_BATCH_SECONDS = 0.1  # stream scan results about ten times a second
SCAN_BATCH_MAX = 500
SCAN_HANDOVER_FILES = 64  # files read in the app's own thread before a scan moves to a process


@dataclass(frozen=True)
class ScanBatch:
    root: str
    items: tuple[ImageHeader | FileIssue, ...]
    scanned: int


@dataclass(frozen=True)
class OpenedImage:
    image: LoadedImage
    presets: tuple[VoiPreset, ...]
    default_preset: int
    seconds: float


@dataclass(frozen=True)
class Thumbnail:
    path: str
    pixels: np.ndarray | None
    error: str = ""


@dataclass(frozen=True)
class StudyReport:
    text: str
    source_path: str
    source_kind: str
    sections: tuple[tuple[str, str], ...]
    findings: tuple[tuple[str, str], ...] = ()  # (label, status) the report states
    findings_from: str = "report"  # "report": read from the text; "dataset": the dataset's table


def scan_folder(context: JobContext, root: str, handover: int | None = None) -> int:
    """Stream headers and skipped files in small batches; returns how many entries were seen.

    The first ``handover`` files are read in this thread, so a study shows at once; a bigger
    folder is then carried on in a separate process (:mod:`cxrviewer.imaging.scan_process`),
    whose pure-Python header reads no longer compete with the GUI thread for the GIL. Should
    that process fail, this thread carries on from the last file it reported.
    """
    from cxrviewer.imaging.scan import iter_folder
    from cxrviewer.imaging.scan_process import ScanProcessError, iter_batches_in_process

    handover = SCAN_HANDOVER_FILES if handover is None else handover
    batch: list[ImageHeader | FileIssue] = []
    seen = 0
    last_flush = time.monotonic()

    def add(items: list[ImageHeader | FileIssue], force: bool = False) -> None:
        nonlocal batch, seen, last_flush
        context.check()
        batch.extend(items)
        seen += len(items)
        if batch and (force or len(batch) >= SCAN_BATCH_MAX or time.monotonic() - last_flush >= SCAN_BATCH_SECONDS):
            context.emit(ScanBatch(root, tuple(batch), seen))
            context.progress(seen, None, f"Scanning: {seen:,} files")
            batch, last_flush = [], time.monotonic()

    def in_thread(skip: int, stop_after: int = 0) -> bool:
        """Read here from file ``skip`` on; True when the folder is done, False when stopped
        after ``stop_after`` files (0: never) to hand the rest over."""
        looked = [0]
        walk = iter_folder(root, should_cancel=context.should_cancel, skip=skip, looked_at=looked)
        for item in walk:
            add([item])
            if looked[0] >= stop_after > 0:
                walk.close()
                resume[0] = looked[0]
                return False
        return True

    resume = [0]  # files (absolute) whose entries have all been taken
    if not in_thread(0, handover):
        try:
            for items, looked in iter_batches_in_process(root, resume[0], should_cancel=context.should_cancel,
                                                         batch_seconds=SCAN_BATCH_SECONDS,
                                                         batch_max=SCAN_BATCH_MAX):
                add(items, force=True)
                resume[0] = looked
        except ScanProcessError:  # no process to be had, or it died: slower for the GUI, but whole
            in_thread(resume[0])
        context.check()
    if batch:
        context.emit(ScanBatch(root, tuple(batch), seen))
    return seen


def open_image(context: JobContext, path: str) -> OpenedImage:
    """The film decoded for the viewer, with its window presets (see ``services.films``)."""
    from cxrviewer.imaging import display
    from cxrviewer.services.films import open_film

    started = time.perf_counter()
    image = open_film(path)
    context.check()
    presets = image.presets  # computed with the image, from its subsampled value range
    default = display.default_preset(image)
    index = next((i for i, p in enumerate(presets) if p.name == default.name), 0)
    return OpenedImage(image, presets, index, time.perf_counter() - started)


def make_thumbnails(context: JobContext, paths: list[str], size: int = 96) -> int:
    """Decode and shrink each image, streaming one :class:`Thumbnail` per file."""
    import numpy as np

    from cxrviewer.imaging.thumbnails import thumbnail
    from cxrviewer.services.films import open_film

    for path in paths:
        context.check()
        try:
            pixels = thumbnail(open_film(path), size=size)
            context.emit(Thumbnail(path, np.ascontiguousarray(pixels)))
        except ImageReadError as exc:
            context.emit(Thumbnail(path, None, exc.reason))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the strip
            context.emit(Thumbnail(path, None, f"cannot decode: {exc}"))
    return len(paths)


def film_thumbnail(context: JobContext, image: LoadedImage, size: int = 96) -> Thumbnail:
    """The strip's thumbnail of the film in the viewer, from the film already decoded."""
    import numpy as np

    from cxrviewer.imaging.thumbnails import thumbnail

    return Thumbnail(image.header.path, np.ascontiguousarray(thumbnail(image, size=size)))


def load_report(context: JobContext, image_paths: list[str], report_paths: list[str]) -> StudyReport | None:
    from cxrviewer.imaging.study import find_report
    from cxrviewer.reports.sections import split_sections

    found = find_report(image_paths, report_paths)
    if found is None:
        return None
    sections = split_sections(found.text)
    return StudyReport(found.text, str(found.source_path), found.source_kind, tuple(sections.as_pairs()),
                       stated_findings(sections.body or found.text))


def library_report(case, library_name: str) -> StudyReport | None:
    """What a library case tells about its film: its report (CheXpert Plus, MIMIC, Open-i, the
    demo) and its findings, marked as the dataset's own labels when they come from the
    dataset's table (CheXpert, NIH, MIMIC) rather than from the report. None when it has
    neither. ``case`` is a library.store.CaseRow."""
    pairs = tuple(case.report.as_pairs())
    from_table = case.findings_source == "dataset" and bool(case.findings)
    if not pairs and not from_table:
        return None
    text = "\n\n".join(f"{h.upper()}: {t}" for h, t in pairs)
    return StudyReport(text, f"{library_name}: {case.case_id}", "library", pairs, tuple(case.findings.items()),
                       "dataset" if from_table else "report")


def stated_findings(text: str) -> tuple[tuple[str, str], ...]:
    """(label, status) of every finding the report text mentions, as the labeler reads it."""
    from cxrviewer.reports.labeler import label_text

    result = label_text(text)
    return tuple((f.label, f.status) for f in result.findings if f.spans or f.label != "No Finding")


def folder_of(path: str) -> str:
    p = Path(path)
    return str(p if p.is_dir() else p.parent)
