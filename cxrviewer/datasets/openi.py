"""Open-i / Indiana University chest X-rays, in either layout they are distributed in.

(a) NLM's: one XML report per study (``ecgen-radiology/*.xml`` or XML files in the root) that
    names its images (``<parentImage id="CXR1_1_IM-0001-3001">``), with the images in a sibling
    folder as PNG (``NLMCXR_png``) or DICOM (``NLMCXR_dcm``).
(b) Kaggle's: ``indiana_reports.csv`` + ``indiana_projections.csv`` with the images in
    ``images/images_normalized/``.

Either way the image folders are walked once and indexed by name. IU has one study per patient,
so the patient id is the report's uid; findings come from our labeler (IU ships only MeSH).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import Case, DatasetProblem, ProblemLog, split_for_patient
from cxrviewer.reports.sections import ReportSections, from_iu_row, from_iu_xml

NAME = "openi"
REPORTS_CSV = "indiana_reports.csv"
PROJECTIONS_CSV = "indiana_projections.csv"
XML_DIR = "ecgen-radiology"
VIEWS = {"frontal": "PA", "lateral": "LATERAL"}  # IU's frontal views are (almost all) PA
# Image preference when one image exists in several formats: cheapest to decode first.
_FORMAT_RANK = {".png": 0, ".jpg": 1, ".jpeg": 1, ".dcm": 2}
_PARENT_IMAGE_RE = re.compile(r"<parentImage\b[^>]*?\bid=\"([^\"]+)\"")
_UID_RE = re.compile(r"<uId\b[^>]*?\bid=\"([^\"]+)\"")
# NLM names images CXR<uid>_IM-... or CXR<uid>_<n>_IM-...; Kaggle's copies are <uid>_IM-....
_IMAGE_NAME_RE = re.compile(r"^(?:CXR)?(\d+)_(?:\d+_)?(IM-[\d-]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    root: Path
    kind: str  # "csv" or "xml"
    xml_files: tuple[Path, ...] = ()


def _xml_files(root: Path) -> list[Path]:
    for folder in (root / XML_DIR, root):
        try:
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
        except OSError:
            continue
        if found and _is_iu_xml(found[0]):
            return found
    return []


def _is_iu_xml(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return b"<eCitation" in head or b"<parentImage" in head


def locate(root: Path) -> Layout | None:
    if (root / REPORTS_CSV).is_file() and (root / PROJECTIONS_CSV).is_file():
        return Layout(root, "csv")
    xml = _xml_files(root) if root.is_dir() else []
    return Layout(root, "xml", tuple(xml)) if xml else None


def detect(root: Path) -> bool:
    return locate(Path(root)) is not None


def iter_cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    """One case per image of each study, in the Kaggle CSV layout if present, else NLM's XML.

    Raises
    ------
    DatasetError
        When ``root`` holds neither layout.
    """
    root = Path(root)
    layout = locate(root)
    if layout is None:
        raise T.wrong_root(NAME, root, "no IU reports here")
    if layout.kind == "csv":
        reports = T.Table(root / REPORTS_CSV, ("uid", "findings", "impression"), NAME)
        projections = T.Table(root / PROJECTIONS_CSV, ("uid", "filename", "projection"), NAME)
        return _csv_cases(root, reports, projections, problems)
    return _xml_cases(layout, problems)


# --------------------------------------------------------------------------- images


def image_key(name: str) -> str:
    """The name shared by every copy of an image: ``CXR1_1_IM-0001-3001.png`` (NLM),
    ``1_IM-0001-3001.dcm.png`` (Kaggle) and ``1_IM-0001-3001.dcm`` all give ``1_IM-0001-3001``."""
    stem = name
    while True:
        base, ext = os.path.splitext(stem)
        if ext.lower() not in T.IMAGE_SUFFIXES:
            break
        stem = base
    match = _IMAGE_NAME_RE.match(stem)
    return f"{match.group(1)}_{match.group(2)}" if match else stem


def index_images(root: Path) -> dict[str, str]:
    """image key -> path of every image under ``root``, walking the tree once."""
    found: dict[str, tuple[int, str]] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            rank = _FORMAT_RANK.get(os.path.splitext(name)[1].lower())
            if rank is None:
                continue
            key = image_key(name)
            if key not in found or rank < found[key][0]:
                found[key] = (rank, os.path.join(folder, name))
    return {key: path for key, (_, path) in found.items()}


def _case(image: str, key: str, uid: str, view: str, report: ReportSections,
          findings: dict[str, str]) -> Case:
    return Case(
        case_id=f"{NAME}:{key}",
        patient_id=uid,
        study_id=uid,
        image=image,
        dataset=NAME,
        view=view,
        report=report,
        findings=findings,
        findings_source="labeler" if report.body else "",
        split=split_for_patient(uid),
    )


# --------------------------------------------------------------------------- Kaggle CSVs


def load_reports(table: T.Table, problems: ProblemLog) -> dict[str, ReportSections]:
    """uid -> report sections from ``indiana_reports.csv``."""
    reports: dict[str, ReportSections] = {}
    for line, row in table.dicts(problems):
        uid = row["uid"].strip()
        if not uid:
            T.bad_row(problems, table.path, line, "empty uid")
            continue
        reports[uid] = from_iu_row(row)
    return reports


def _csv_cases(root: Path, reports_table: T.Table, projections: T.Table,
               problems: ProblemLog) -> Iterator[Case]:
    reports = load_reports(reports_table, problems)
    images = index_images(root)
    labelled: dict[str, dict[str, str]] = {}
    for line, row in projections.dicts(problems):
        uid, filename = row["uid"].strip(), row["filename"].strip()
        view = VIEWS.get(row["projection"].strip().lower())
        if not uid or not filename or view is None:
            T.bad_row(problems, projections.path, line, f"bad row (uid {uid!r}, projection {row['projection']!r})")
            continue
        key = image_key(filename)
        image = images.get(key)
        if image is None:
            T.missing_image(problems, root / "images" / "images_normalized" / filename)
            continue
        report = reports.get(uid, ReportSections())
        if uid not in labelled:
            labelled[uid] = T.labeled_findings(report)
        yield _case(image, key, uid, view, report, labelled[uid])


# --------------------------------------------------------------------------- NLM XML


def _projections(root: Path, problems: ProblemLog) -> dict[str, str]:
    """image key -> view from ``indiana_projections.csv`` when it lies in the root."""
    path = root / PROJECTIONS_CSV
    if not path.is_file():
        return {}
    table = T.Table(path, ("filename", "projection"), NAME)
    return {image_key(row["filename"].strip()): VIEWS.get(row["projection"].strip().lower(), "")
            for _, row in table.dicts(problems)}


def _xml_cases(layout: Layout, problems: ProblemLog) -> Iterator[Case]:
    images = index_images(layout.root)
    views = _projections(layout.root, problems)
    for path in layout.xml_files:
        xml = T.read_report_file(str(path)) or ""
        if not xml:
            problems(DatasetProblem(str(path), "unreadable or empty report file"))
            continue
        ids = _PARENT_IMAGE_RE.findall(xml)
        uid_match = _UID_RE.search(xml)
        uid = re.sub(r"(?i)^CXR", "", uid_match.group(1) if uid_match else path.stem) or path.stem
        report = from_iu_xml(xml)
        findings = T.labeled_findings(report) if ids else {}
        for image_id in dict.fromkeys(ids):
            key = image_key(image_id)
            image = images.get(key)
            if image is None:
                T.missing_image(problems, layout.root / f"{image_id}.png")
                continue
            yield _case(image, key, uid, views.get(key, ""), report, findings)


ADAPTER = T.Adapter(NAME, detect, iter_cases)
