"""Study folders: a streaming, header-only scan (the tree it fills is :mod:`~cxrviewer.imaging.study_tree`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator

from cxrviewer.imaging.records import FileIssue, ImageHeader, ImageReadError

_SKIP_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "icon\r"}
# Files that live beside images in a study folder and are not images: never "broken images".
_NOT_IMAGES = {
    ".txt", ".md", ".rtf", ".csv", ".tsv", ".json", ".xml", ".log", ".ini", ".yaml", ".yml",
    ".pdf", ".html", ".htm", ".doc", ".docx", ".py", ".sh", ".bat", ".exe", ".db", ".sqlite",
}


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SKIP_NAMES


def _entries(folder: str) -> tuple[list[os.DirEntry[str]], list[os.DirEntry[str]], str]:
    """A folder's files and subfolders, sorted, and why it could not be read ("" when it could).

    Anything that is not a folder counts as a file, so a named pipe, a device or a broken link
    is reported with its reason instead of passing unseen (scan_file never opens one).
    """
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        return [], [], exc.strerror or str(exc)
    files: list[os.DirEntry[str]] = []
    dirs: list[os.DirEntry[str]] = []
    for entry in entries:
        if _hidden(entry.name):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(entry)
    return files, dirs, ""


def _is_dicomdir(path: str) -> bool:
    return os.path.basename(path).upper() == "DICOMDIR"


def scan_file(path: str) -> ImageHeader | FileIssue | None:
    """One file: its header, an issue, or None for files that are not meant as images."""
    from cxrviewer.imaging.dicom import DICOMDIR_REASON, read_header

    if os.path.splitext(path)[1].lower() in _NOT_IMAGES:
        return None
    try:
        header = read_header(path)
    except ImageReadError as exc:
        if exc.reason == DICOMDIR_REASON:
            return None
        return FileIssue(path, exc.reason)
    except Exception as exc:  # noqa: BLE001 - read_header's own boundary failing: still one file
        from cxrviewer.imaging.dicom.errors import unexpected

        return FileIssue(path, unexpected(exc))
    if not header.is_report and (header.rows == 0 or header.columns == 0):
        reason = "no image attributes (Rows/Columns missing)"
        if header.warnings:
            reason += "; " + "; ".join(header.warnings)
        return FileIssue(path, reason)
    return header


def _dicomdir(path: str, seen: set[str], look: Callable[[], bool]) -> Iterator[ImageHeader | FileIssue]:
    """The files a DICOMDIR lists (it is an index, not an image). ``look()`` is asked before
    each file or issue: False passes over it unread (see :func:`iter_folder`'s ``skip``)."""
    import pydicom
    from pydicom.fileset import FileSet

    seen.add(os.path.realpath(path))
    try:
        fileset = FileSet(pydicom.dcmread(path))
        listed = [os.fspath(instance.path) for instance in fileset]
    except Exception as exc:  # noqa: BLE001 - a damaged index: the walk still finds the files
        if look():
            yield FileIssue(path, f"DICOMDIR could not be read ({type(exc).__name__}): files found by walking",
                            "warning")
        return
    for listed_path in listed:
        real = os.path.realpath(listed_path)
        if real in seen:
            continue
        seen.add(real)
        if not look():
            continue
        if not os.path.exists(listed_path):
            yield FileIssue(listed_path, "listed in DICOMDIR but missing")
            continue
        item = scan_file(listed_path)
        if item is not None:
            yield item


def iter_folder(
    root: str | os.PathLike[str], *, should_cancel: Callable[[], bool] | None = None, skip: int = 0,
    looked_at: list[int] | None = None,
) -> Generator[ImageHeader | FileIssue, None, None]:
    """Headers and issues of every file under ``root`` (or of ``root`` itself), as they are read.

    Order is deterministic (names sorted, a folder's DICOMDIR first, then files, then
    subfolders). Hidden files, .DS_Store/Thumbs.db and text/report files are skipped silently.

    ``looked_at[0]`` counts the files (and DICOMDIR entries) looked at so far; a walk started
    with ``skip=n`` passes over the first ``n`` of them unread, so a scan stopped after ``n`` can
    be carried on elsewhere (:mod:`cxrviewer.imaging.scan_process`) without repeats.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist.
    """
    root = os.fspath(root)
    if not os.path.exists(root):
        raise FileNotFoundError(root)
    cancelled = should_cancel or (lambda: False)
    counter = looked_at if looked_at is not None else [0]

    def look() -> bool:
        counter[0] += 1
        return counter[0] > skip

    seen: set[str] = set()
    if not os.path.isdir(root):
        if _is_dicomdir(root):
            yield from _dicomdir(root, seen, look)
            return
        item = scan_file(root) if look() else None
        if item is not None:
            yield item
        return
    stack = [root]
    while stack:
        folder = stack.pop()
        files, dirs, unreadable = _entries(folder)
        if unreadable and look():
            yield FileIssue(folder, f"cannot read folder: {unreadable}")
        for entry in files:
            if _is_dicomdir(entry.path):
                for item in _dicomdir(entry.path, seen, look):
                    if cancelled():
                        return
                    yield item
        for entry in files:
            if cancelled():
                return
            real = os.path.realpath(entry.path)
            if real in seen:
                continue
            seen.add(real)
            item = scan_file(entry.path) if look() else None
            if item is not None:
                yield item
        stack.extend(entry.path for entry in reversed(dirs))
