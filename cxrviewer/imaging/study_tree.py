"""The study model: patients > studies > series > images, built as a folder scan streams in.

One model for every reader of a study folder: the window shows it (through a Qt item model
that listens to it) and ``cxrviewer info`` summarises it, so both group files alike. Plain
Python; answers "first image", "series of", "study of" without any widget.

Grouping. DICOM files group by their UIDs; a file without a Study/Series Instance UID groups by
its folder. PNG/JPEG files have none: the folder is the study and the folder above it the
patient (the CheXpert ``patient/study/view.jpg`` layout).

Order. Patients stay in the order the scan met them (the scan's order is deterministic, and
a patient's place, which also numbers it "Patient N" when anonymised, never moves while the
scan streams); studies sort by date, series by number, images by instance number.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the window builds an empty tree at start-up: records load with the first scan results
    from typing import Protocol

    from cxrviewer.imaging.records import FileIssue, ImageHeader

NO_PATIENT_ID = "(no patient id)"


class Node:
    """A row of the tree with its children kept sorted (their keys in ``child_keys``)."""

    parent: Node | None = None
    sort_key: tuple = ()

    def __init__(self) -> None:
        self.children: list[Any] = []
        self.child_keys: list[tuple] = []

    def insert_row(self, child: Any, sort_key: tuple) -> int:
        row = bisect.bisect(self.child_keys, sort_key)
        self.child_keys.insert(row, sort_key)
        self.children.insert(row, child)
        return row

    def row_of(self, sort_key: tuple) -> int:
        return bisect.bisect_left(self.child_keys, sort_key)


class SeriesNode(Node):
    def __init__(self, key: str, header: ImageHeader) -> None:
        super().__init__()
        self.key = key
        self.uid = header.series_uid
        self.number = header.series_number
        self.modality = header.modality or header.kind.upper()
        self.description = header.series_description or header.view_position
        self.sort_key = (self.number is None, self.number or 0, key)

    @property
    def images(self) -> list[ImageHeader]:
        return self.children

    @property
    def study(self) -> StudyNode:
        return self.parent  # type: ignore[return-value]


class StudyNode(Node):
    def __init__(self, key: str, header: ImageHeader) -> None:
        super().__init__()
        self.key = key
        self.uid = header.study_uid
        self.date = header.study_date
        folder = os.path.basename(os.path.dirname(header.path))
        self.description = header.study_description or (folder if header.kind != "dicom" else "")
        self.accession_number = header.accession_number
        self.reports: list[ImageHeader] = []  # SR / encapsulated documents
        self.image_count = 0
        self.sort_key = (self.date, key)

    @property
    def series(self) -> dict[str, SeriesNode]:
        return {s.key: s for s in self.children}

    @property
    def folders(self) -> list[str]:
        return list(dict.fromkeys(os.path.dirname(img.path) for s in self.children for img in s.children))


class PatientNode(Node):
    def __init__(self, key: str, header: ImageHeader, order: int) -> None:
        super().__init__()
        self.key = key
        self.order = order  # 1-based, in the order the scan met it: "Patient N" when anonymised
        self.header = header  # the first file seen (for the row's label, masked or not)
        if header.kind == "dicom":
            self.patient_id, self.name = header.patient_id, header.patient_name
        else:
            parent = os.path.dirname(os.path.dirname(os.path.abspath(header.path)))
            self.patient_id, self.name = "", os.path.basename(parent) or parent
        self.sex, self.age = header.patient_sex, header.patient_age
        self.sort_key = (order,)

    @property
    def studies(self) -> dict[str, StudyNode]:
        return {s.key: s for s in self.children}


if TYPE_CHECKING:
    class TreeListener(Protocol):
        """Told about each change, around it, as Qt's item models need (``gui.study_tree_model``).

        A new patient, study or series arrives together with its first image, so a new subtree is
        announced once, at its top node.
        """

        def tree_resetting(self) -> None: ...  # everything is about to go

        def tree_reset(self) -> None: ...

        def rows_inserting(self, parent: Node, row: int) -> None: ...

        def rows_inserted(self, parent: Node, row: int) -> None: ...

        def node_changed(self, node: Node) -> None: ...  # a count or the children's existence


def group_keys(header: ImageHeader) -> tuple[str, str, str]:
    """(patient, study, series) keys of a file: the grouping rule in one place."""
    folder = os.path.dirname(os.path.abspath(header.path))
    if header.kind == "dicom":
        patient = header.patient_id or header.patient_name or NO_PATIENT_ID
        study = header.study_uid or f"folder:{folder}"
    else:
        patient = f"folder:{os.path.dirname(folder)}"
        study = f"folder:{folder}"
    series = header.series_uid or f"{study}|{folder}|{header.kind}:{header.modality}"
    return patient, study, series


def _image_order(header: ImageHeader) -> tuple[bool, int, str]:
    number = header.instance_number
    return (number is None, number or 0, header.path)


class StudyTree(Node):
    """The root: patients in scan order, plus every file that could not be used."""

    def __init__(self) -> None:
        super().__init__()
        self.listener: TreeListener | None = None
        self.clear()

    def clear(self) -> None:
        if self.listener is not None:
            self.listener.tree_resetting()
        self.children, self.child_keys = [], []
        self.patients: dict[str, PatientNode] = {}
        self.headers: dict[str, ImageHeader] = {}  # every image and report, by path
        self.issues: list[FileIssue] = []  # files that could not be used (and DICOMDIR notes)
        self.warnings: list[FileIssue] = []  # usable images whose headers had something odd
        self.image_count = 0
        self._studies: dict[str, StudyNode] = {}
        self._series: dict[str, SeriesNode] = {}
        self._series_of: dict[str, SeriesNode] = {}
        if self.listener is not None:
            self.listener.tree_reset()

    # -- streaming in ----------------------------------------------------------------------

    def add(self, item: ImageHeader | FileIssue) -> None:
        from cxrviewer.imaging.records import FileIssue

        if isinstance(item, FileIssue):
            self.issues.append(item)
            return
        if item.path in self.headers:
            return  # listed already (a DICOMDIR entry that the walk found again)
        self.headers[item.path] = item
        if item.warnings:
            self.warnings.append(FileIssue(item.path, "; ".join(item.warnings), "warning"))
        patient_key, study_key, series_key = group_keys(item)
        study = self._studies.get(study_key)
        if item.is_report:
            if study is None:
                study = self._new_study(study_key, item)
                study.reports.append(item)
                self._hang(study, patient_key, item)
            else:
                study.reports.append(item)
            return
        self.image_count += 1
        series = self._series.get(series_key)
        if series is not None:
            self._series_of[item.path] = series
            self._announce(series, _image_order(item), lambda: series.insert_row(item, _image_order(item)))
            series.study.image_count += 1
            if self.listener is not None:
                self.listener.node_changed(series)
                self.listener.node_changed(series.study)
            return
        series = SeriesNode(series_key, item)
        series.insert_row(item, _image_order(item))
        self._series[series_key] = series
        self._series_of[item.path] = series
        if study is not None:
            series.parent = study
            study.image_count += 1
            self._announce(study, series.sort_key, lambda: study.insert_row(series, series.sort_key))
            if self.listener is not None:
                self.listener.node_changed(study)
            return
        study = self._new_study(study_key, item)
        series.parent = study
        study.insert_row(series, series.sort_key)
        study.image_count = 1
        self._hang(study, patient_key, item)

    def _new_study(self, key: str, header: ImageHeader) -> StudyNode:
        study = StudyNode(key, header)
        self._studies[key] = study
        return study

    def _hang(self, study: StudyNode, patient_key: str, header: ImageHeader) -> None:
        """A new study (with what it holds) under its patient, or a new patient with it."""
        patient = self.patients.get(patient_key)
        if patient is not None:
            study.parent = patient
            self._announce(patient, study.sort_key, lambda: patient.insert_row(study, study.sort_key))
            return
        patient = PatientNode(patient_key, header, len(self.patients) + 1)
        study.parent = patient
        patient.insert_row(study, study.sort_key)
        patient.parent = self
        self.patients[patient_key] = patient
        self._announce(self, patient.sort_key, lambda: self.insert_row(patient, patient.sort_key))

    def _announce(self, parent: Node, sort_key: tuple, insert: Any) -> None:
        """Insert one child, telling the listener around it (and when the parent got its first)."""
        if self.listener is None:
            insert()
            return
        was_empty = not parent.children
        row = bisect.bisect(parent.child_keys, sort_key)
        self.listener.rows_inserting(parent, row)
        insert()
        self.listener.rows_inserted(parent, row)
        if was_empty:
            self.listener.node_changed(parent)

    def add_many(self, items: Iterable[ImageHeader | FileIssue]) -> None:
        for item in items:
            self.add(item)

    # -- reading -----------------------------------------------------------------------------

    def list_patients(self) -> list[PatientNode]:
        return list(self.children)

    def studies(self, patient_key: str) -> list[StudyNode]:
        return list(self.patients[patient_key].children)

    def series(self, study_key: str) -> list[SeriesNode]:
        return list(self._studies[study_key].children)

    def images(self, series_key: str) -> list[ImageHeader]:
        return list(self._series[series_key].children)

    def all_images(self) -> Iterator[ImageHeader]:
        for patient in self.children:
            for study in patient.children:
                for series in study.children:
                    yield from series.children

    def first_image(self) -> ImageHeader | None:
        """The first image in the tree's order: what the window shows first."""
        node: Any = self
        while isinstance(node, Node):
            if not node.children:
                return None
            node = node.children[0]
        return node

    def first_image_under(self, node: Node | ImageHeader) -> ImageHeader | None:
        while isinstance(node, Node):
            if not node.children:
                return None
            node = node.children[0]
        return node

    def series_of(self, path: str) -> SeriesNode | None:
        return self._series_of.get(path)

    def study_of(self, path: str) -> StudyNode | None:
        series = self._series_of.get(path)
        return series.parent if series is not None else None  # type: ignore[return-value]

    def patient_of(self, path: str) -> PatientNode | None:
        study = self.study_of(path)
        return study.parent if study is not None else None  # type: ignore[return-value]

    def series_paths(self, path: str) -> list[str]:
        """The film's series in order ([path] alone for a film the scan has not listed)."""
        series = self._series_of.get(path)
        return [h.path for h in series.children] if series is not None else [path]

    def study_paths(self, path: str) -> list[str]:
        study = self.study_of(path)
        if study is None:
            return [path]
        return [h.path for s in study.children for h in s.children]

    def patient_index(self, path: str) -> int:
        """The film's patient's number ("Patient N" when anonymised); 1 when unknown."""
        patient = self.patient_of(path)
        return patient.order if patient is not None else 1

    def parent_of(self, node: Node | ImageHeader) -> Node | None:
        if isinstance(node, Node):
            return node.parent
        return self._series_of.get(node.path)

    def row_in_parent(self, node: Node | ImageHeader) -> int:
        parent = self.parent_of(node)
        if parent is None:
            return 0
        key = node.sort_key if isinstance(node, Node) else _image_order(node)
        return parent.row_of(key)

    def issue_count(self) -> int:
        return len(self.issues)


def summarize(tree: StudyTree) -> dict[str, Any]:
    """What ``cxrviewer info`` prints: counts, modalities, sizes, syntaxes and every skipped file."""
    images = list(tree.all_images())
    studies = [s for p in tree.list_patients() for s in p.children]
    reports = [r for s in studies for r in s.reports]
    issues = tree.issues + tree.warnings
    return {
        "patients": len(tree.patients),
        "studies": len(studies),
        "series": sum(len(s.children) for s in studies),
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
                "series": len(s.children),
                "images": s.image_count,
                "reports": len(s.reports),
            }
            for p in tree.list_patients()
            for s in p.children
        ],
        "skipped": [{"path": i.path, "reason": i.reason} for i in issues if i.severity == "error"],
        "warnings": [{"path": i.path, "reason": i.reason} for i in issues if i.severity == "warning"],
    }
