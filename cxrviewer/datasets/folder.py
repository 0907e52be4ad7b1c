"""Any folder of DICOM, PNG or JPEG files, with report text beside them when there is one.

Files are read header-only (``imaging.scan``). DICOM images are grouped into studies by their
Study Instance UID and into patients by Patient ID. PNG/JPEG files have no identity of their
own, so the folder layout stands in: a file's folder is its study and that folder's parent its
patient (the ``patient/study/view.png`` layout); files directly in the root are one case each.
A study's report is its DICOM SR, else ``report.txt`` in its folder, else ``<image>.txt``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import (
    Case,
    DatasetProblem,
    ProblemLog,
    normalise_sex,
    normalise_view,
    split_for_patient,
)
from cxrviewer.imaging.records import FileIssue, ImageHeader
from cxrviewer.reports.sections import ReportSections, split_sections

NAME = "folder"


@dataclass
class _Study:
    patient_id: str
    images: list[ImageHeader] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)  # SR / encapsulated document paths


def detect(root: Path) -> bool:
    """Any readable folder qualifies; the registry tries this adapter last."""
    return Path(root).is_dir()


def iter_cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    """One case per image file under ``root``; unreadable files go to ``problems``.

    Raises
    ------
    DatasetError
        When ``root`` is not a folder (at the call), or holds no image at all (when iterated).
    """
    root = Path(root)
    if not root.is_dir():
        raise T.wrong_root(NAME, root, "not a folder")
    return _cases(root, problems)


def _cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    studies = group_studies(root, problems)
    if not studies:
        raise T.wrong_root(NAME, root, "no readable image files found")
    for key, study in studies.items():
        report = study_report(study)
        findings = T.labeled_findings(report)
        for header in study.images:
            yield _case(root, key, study, header, report, findings)


def group_studies(root: Path, problems: ProblemLog) -> dict[str, _Study]:
    """Study key -> its images and SR documents, in scan order."""
    from cxrviewer.imaging.scan import iter_folder

    studies: dict[str, _Study] = {}
    for item in iter_folder(root):
        if isinstance(item, FileIssue):
            if item.severity == "error":
                problems(DatasetProblem(item.path, item.reason))
            continue
        patient, key = identity(root, item)
        study = studies.setdefault(key, _Study(patient))
        if item.is_report:
            study.reports.append(item.path)
        else:
            study.images.append(item)
    return {key: study for key, study in studies.items() if study.images}


def identity(root: Path, header: ImageHeader) -> tuple[str, str]:
    """(patient id, study key) of one file, from its DICOM header or else its folder."""
    folder = os.path.relpath(os.path.dirname(os.path.abspath(header.path)), root).replace(os.sep, "/")
    if header.kind == "dicom":
        patient = header.patient_id or header.patient_name or f"folder:{folder}"
        return patient, header.study_uid or f"{patient}:{folder}"
    if folder == ".":
        stem = os.path.splitext(os.path.basename(header.path))[0]
        return stem, stem
    parent = os.path.dirname(folder)
    return (parent or folder), folder


def study_report(study: _Study) -> ReportSections:
    from cxrviewer.imaging.study import find_report

    found = find_report([h.path for h in study.images], study.reports)
    return split_sections(found.text) if found else ReportSections()


def _case(root: Path, key: str, study: _Study, header: ImageHeader, report: ReportSections,
          findings: dict[str, str]) -> Case:
    rel = os.path.relpath(header.path, root).replace(os.sep, "/")
    return Case(
        case_id=f"{NAME}:{rel}",
        patient_id=study.patient_id,
        study_id=key,
        image=os.path.abspath(header.path),
        dataset=NAME,
        view=normalise_view(header.view_position),
        sex=normalise_sex(header.patient_sex),
        age=T.lenient_age(header.patient_age),
        report=report,
        findings=findings,
        findings_source="labeler" if report.body else "",
        split=split_for_patient(study.patient_id),
    )


ADAPTER = T.Adapter(NAME, detect, iter_cases)
