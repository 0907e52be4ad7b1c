"""MIMIC-CXR-JPG 2.x as distributed by PhysioNet: CSVs (often gzipped) and ``files/pXX/...``.

Images are ``files/p10/p10000032/s50414267/<dicom_id>.jpg``. Labels are per study (the
CheXpert labeler's output in ``-chexpert.csv``); studies without a row there get labels from
our labeler when their report is present. Reports live in ``mimic-cxr-reports/files/...`` or
beside the images in ``files/...`` (MIMIC-CXR's own layout), in the root or its parent.
Sex and age come from MIMIC-IV's ``patients.csv`` when the user puts it in the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import Case, ProblemLog, normalise_sex, normalise_view, split_for_patient
from cxrviewer.reports.labels import CHEXPERT_LABELS
from cxrviewer.reports.sections import ReportSections, split_sections

NAME = "mimic"
PREFIX = "mimic-cxr-2.0.0-"
METADATA = PREFIX + "metadata.csv"
CHEXPERT = PREFIX + "chexpert.csv"
SPLIT = PREFIX + "split.csv"
PATIENTS = "patients.csv"
SPLIT_NAMES = {"train": "train", "validate": "valid", "valid": "valid", "test": "test"}
# A patient listed in several splits goes to the most held-out one, so splits stay disjoint.
_SPLIT_RANK = {"train": 0, "valid": 1, "test": 2}


@dataclass(frozen=True)
class Layout:
    folder: Path  # holds the CSVs and files/
    metadata: Path


def locate(root: Path) -> Layout | None:
    """``root`` itself, or a version folder (``2.0.0``, ``2.1.0``) directly inside it."""
    candidates = [root]
    if root.is_dir():
        try:
            candidates += sorted((p for p in root.iterdir() if p.is_dir() and p.name[:1].isdigit()), reverse=True)
        except OSError:
            pass
    for folder in candidates:
        metadata = T.find_table(folder, METADATA)
        if metadata is not None:
            return Layout(folder, metadata)
    return None


def detect(root: Path) -> bool:
    return locate(Path(root)) is not None


def iter_cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    """One case per row of the metadata CSV whose JPEG exists.

    Raises
    ------
    DatasetError
        When there is no ``mimic-cxr-2.0.0-metadata.csv(.gz)`` in ``root`` or a version folder.
    """
    root = Path(root)
    layout = locate(root)
    if layout is None:
        raise T.wrong_root(NAME, root, f"no {METADATA}(.gz) here")
    table = T.Table(layout.metadata, ("dicom_id", "subject_id", "study_id"), NAME)
    return _cases(layout, table, problems)


def _cases(layout: Layout, table: T.Table, problems: ProblemLog) -> Iterator[Case]:
    labels = load_labels(layout.folder, problems)
    splits = load_patient_splits(layout.folder, problems)
    patients = load_patients(layout.folder, problems)
    reports = ReportFinder(layout.folder)
    files = T.DirCache()
    col = table.col
    for line, cells in table.rows(problems):
        subject, study, dicom = (cells[col[k]].strip() for k in ("subject_id", "study_id", "dicom_id"))
        if not (subject.isdigit() and study.isdigit() and dicom):
            T.bad_row(problems, table.path, line, "subject_id and study_id must be numbers, dicom_id non-empty")
            continue
        try:
            dicom = T.plain_name(dicom, "dicom_id")
        except T.RowError as exc:
            T.bad_row(problems, table.path, line, str(exc))
            continue
        image = os.path.join(layout.folder, "files", f"p{subject[:2]}", f"p{subject}", f"s{study}", f"{dicom}.jpg")
        if not files.exists(image):
            T.missing_image(problems, image)
            continue
        report = reports.sections(subject, study)
        findings = labels.get(study)
        sex, age = patients.get(subject, ("", None))
        yield Case(
            case_id=f"{NAME}:{dicom}",
            patient_id=subject,
            study_id=study,
            image=image,
            dataset=NAME,
            view=normalise_view(cells[col["ViewPosition"]]) if "ViewPosition" in col else "",
            sex=sex,
            age=age,
            report=report,
            findings=findings if findings is not None else reports.findings(study, report),
            findings_source="dataset" if findings is not None else ("labeler" if report.body else ""),
            split=splits.get(subject) or split_for_patient(subject),
        )


# --------------------------------------------------------------------------- side tables


def load_labels(folder: Path, problems: ProblemLog) -> dict[str, dict[str, str]]:
    """study_id -> findings from ``-chexpert.csv(.gz)`` (empty when the file is absent)."""
    path = T.find_table(folder, CHEXPERT)
    if path is None:
        return {}
    table = T.Table(path, ("study_id",), NAME)
    columns = {label: label for label in CHEXPERT_LABELS}
    labels: dict[str, dict[str, str]] = {}
    for line, cells in table.rows(problems):
        try:
            labels[cells[table.col["study_id"]].strip()] = T.statuses(cells, table.col, columns)
        except T.RowError as exc:
            T.bad_row(problems, path, line, str(exc))
    return labels


def load_patient_splits(folder: Path, problems: ProblemLog) -> dict[str, str]:
    """subject_id -> train/valid/test from ``-split.csv(.gz)``, one split per patient."""
    path = T.find_table(folder, SPLIT)
    if path is None:
        return {}
    table = T.Table(path, ("subject_id", "split"), NAME)
    splits: dict[str, str] = {}
    for line, cells in table.rows(problems):
        subject, name = cells[table.col["subject_id"]].strip(), cells[table.col["split"]].strip().lower()
        split = SPLIT_NAMES.get(name)
        if split is None or not subject:
            T.bad_row(problems, path, line, f"unknown split {name!r}")
            continue
        if _SPLIT_RANK[split] > _SPLIT_RANK[splits.get(subject, "train")]:
            splits[subject] = split
        else:
            splits.setdefault(subject, split)
    return splits


def load_patients(folder: Path, problems: ProblemLog) -> dict[str, tuple[str, float | None]]:
    """subject_id -> (sex, anchor age) from MIMIC-IV's ``patients.csv(.gz)`` when present."""
    path = T.find_table(folder, PATIENTS)
    if path is None:
        return {}
    table = T.Table(path, ("subject_id",), NAME)
    out: dict[str, tuple[str, float | None]] = {}
    for line, row in table.dicts(problems):
        try:
            out[row["subject_id"].strip()] = (normalise_sex(row.get("gender")), T.parse_age(row.get("anchor_age")))
        except T.RowError as exc:
            T.bad_row(problems, path, line, str(exc))
    return out


class ReportFinder:
    """A study's report text, looked up in each layout MIMIC reports come in.

    Images of a study are adjacent in the metadata, so the last study's report is remembered
    and read once.
    """

    def __init__(self, folder: Path) -> None:
        places = [folder / "mimic-cxr-reports" / "files", folder / "files",
                  folder.parent / "mimic-cxr-reports" / "files", folder.parent / "files"]
        self.bases = [str(p) for p in dict.fromkeys(places) if p.is_dir()]
        self._files = T.DirCache()
        self._last: tuple[str, ReportSections] = ("", ReportSections())
        self._last_findings: tuple[str, dict[str, str]] = ("", {})

    def path(self, subject: str, study: str) -> str | None:
        for base in self.bases:
            path = os.path.join(base, f"p{subject[:2]}", f"p{subject}", f"s{study}.txt")
            if self._files.exists(path):
                return path
        return None

    def sections(self, subject: str, study: str) -> ReportSections:
        if self._last[0] != study:
            path = self.path(subject, study)
            text = T.read_report_file(path) if path else None
            self._last = (study, split_sections(text) if text else ReportSections())
        return self._last[1]

    def findings(self, study: str, report: ReportSections) -> dict[str, str]:
        """Labeler findings of a study's report, computed once per study."""
        if self._last_findings[0] != study:
            self._last_findings = (study, T.labeled_findings(report))
        return self._last_findings[1]


ADAPTER = T.Adapter(NAME, detect, iter_cases)
