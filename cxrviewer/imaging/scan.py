"""Study folders: a streaming, header-only scan and an incrementally built patient/study tree."""

from __future__ import annotations

import bisect
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
    files, dirs = [], []
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
    except Exception as exc:  # a damaged index: the walk still finds the files
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
) -> Iterator[ImageHeader | FileIssue]:
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


# --------------------------------------------------------------------------- the tree


@dataclass
class SeriesNode:
    key: str
    uid: str
    number: int | None
    modality: str
    description: str
    images: list[ImageHeader] = field(default_factory=list)


@dataclass
class StudyNode:
    key: str
    uid: str
    date: str
    description: str
    accession_number: str
    series: dict[str, SeriesNode] = field(default_factory=dict)
    reports: list[ImageHeader] = field(default_factory=list)  # SR / encapsulated documents

    @property
    def folders(self) -> list[str]:
        paths = [img.path for s in self.series.values() for img in s.images]
        return list(dict.fromkeys(os.path.dirname(p) for p in paths))


@dataclass
class PatientNode:
    key: str
    patient_id: str
    name: str
    sex: str
    age: str
    studies: dict[str, StudyNode] = field(default_factory=dict)


def _image_order(header: ImageHeader) -> tuple[int, int, str]:
    number = header.instance_number
    return (number is None, number or 0, header.path)


class StudyTree:
    """patients -> studies -> series -> images, built as scan results arrive (plain Python).

    Keys are the DICOM UIDs; PNG/JPEG files, which have none, are grouped by folder: the folder
    is the study and its parent the patient (the CheXpert ``patient/study/view.jpg`` layout).
    """

    def __init__(self) -> None:
        self.patients: dict[str, PatientNode] = {}
        self.issues: list[FileIssue] = []
        self._studies: dict[str, StudyNode] = {}
        self._series: dict[str, SeriesNode] = {}

    def add(self, item: ImageHeader | FileIssue) -> None:
        if isinstance(item, FileIssue):
            self.issues.append(item)
            return
        if item.warnings:
            self.issues.append(FileIssue(item.path, "; ".join(item.warnings), "warning"))
        patient = self._patient(item)
        study = self._study(patient, item)
        if item.is_report:
            study.reports.append(item)
            return
        series = self._series_for(study, item)
        keys = [_image_order(h) for h in series.images]
        series.images.insert(bisect.bisect(keys, _image_order(item)), item)

    def add_many(self, items: Iterable[ImageHeader | FileIssue]) -> None:
        for item in items:
            self.add(item)

    def _patient(self, h: ImageHeader) -> PatientNode:
        if h.kind == "dicom":
            key = h.patient_id or h.patient_name or "(unknown patient)"
            pid, name = h.patient_id, h.patient_name
        else:
            parent = os.path.dirname(os.path.dirname(os.path.abspath(h.path)))
            key, pid, name = f"folder:{parent}", "", os.path.basename(parent) or parent
        if key not in self.patients:
            self.patients[key] = PatientNode(key, pid, name, h.patient_sex, h.patient_age)
        return self.patients[key]

    def _study(self, patient: PatientNode, h: ImageHeader) -> StudyNode:
        if h.kind == "dicom":
            key = h.study_uid or f"(no study uid):{patient.key}"
        else:
            key = f"folder:{os.path.dirname(os.path.abspath(h.path))}"
        if key not in self._studies:
            description = h.study_description or (
                os.path.basename(os.path.dirname(h.path)) if h.kind != "dicom" else ""
            )
            study = StudyNode(key, h.study_uid, h.study_date, description, h.accession_number)
            self._studies[key] = study
            patient.studies[key] = study
        return self._studies[key]

    def _series_for(self, study: StudyNode, h: ImageHeader) -> SeriesNode:
        key = h.series_uid or f"{study.key}:{h.kind}:{h.modality}"
        if key not in self._series:
            series = SeriesNode(key, h.series_uid, h.series_number, h.modality or h.kind.upper(),
                                h.series_description)
            self._series[key] = series
            study.series[key] = series
        return self._series[key]

    def list_patients(self) -> list[PatientNode]:
        return sorted(self.patients.values(), key=lambda p: (p.name or p.patient_id, p.key))

    def studies(self, patient_key: str) -> list[StudyNode]:
        return sorted(self.patients[patient_key].studies.values(), key=lambda s: (s.date, s.key))

    def series(self, study_key: str) -> list[SeriesNode]:
        items = self._studies[study_key].series.values()
        return sorted(items, key=lambda s: (s.number is None, s.number or 0, s.key))

    def images(self, series_key: str) -> list[ImageHeader]:
        return list(self._series[series_key].images)

    def all_images(self) -> Iterator[ImageHeader]:
        for patient in self.list_patients():
            for study in self.studies(patient.key):
                for series in self.series(study.key):
                    yield from series.images

    def first_image(self) -> ImageHeader | None:
        return next(self.all_images(), None)

    def study_of(self, path: str) -> StudyNode | None:
        for study in self._studies.values():
            if any(img.path == path for s in study.series.values() for img in s.images):
                return study
        return None


def summarize(tree: StudyTree) -> dict[str, Any]:
    """What ``cxrviewer info`` prints: counts, modalities, sizes, syntaxes and every skipped file."""
    images = list(tree.all_images())
    reports = [r for p in tree.patients.values() for s in p.studies.values() for r in s.reports]
    studies = [s for p in tree.list_patients() for s in tree.studies(p.key)]
    return {
        "patients": len(tree.patients),
        "studies": len(studies),
        "series": sum(len(s.series) for s in studies),
        "images": len(images),
        "frames": sum(h.frames for h in images),
        "reports": len(reports),
        "modalities": dict(Counter(h.modality or h.kind.upper() for h in images)),
        "dimensions": dict(Counter(f"{h.columns}x{h.rows}" for h in images)),
        "total_size_bytes": sum(h.file_size for h in images) + sum(r.file_size for r in reports),
        "transfer_syntaxes": dict(
            Counter(h.transfer_syntax_name or h.transfer_syntax_uid or h.kind.upper() for h in images)
        ),
        "study_list": [
            {
                "patient": p.name or p.patient_id,
                "study_uid": s.uid,
                "date": s.date,
                "description": s.description,
                "series": len(s.series),
                "images": sum(len(x.images) for x in s.series.values()),
                "reports": len(s.reports),
            }
            for p in tree.list_patients()
            for s in tree.studies(p.key)
        ],
        "skipped": [
            {"path": i.path, "reason": i.reason} for i in tree.issues if i.severity == "error"
        ],
        "warnings": [
            {"path": i.path, "reason": i.reason} for i in tree.issues if i.severity == "warning"
        ],
    }
