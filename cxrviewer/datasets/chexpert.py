"""CheXpert v1.0 (and -small), with CheXpert Plus report text when it lies beside it.

The root may be the dataset folder (``train.csv``, ``valid.csv``, ``train/patient.../``) or
its parent. ``Path`` cells start with the dataset folder's name as distributed
(``CheXpert-v1.0-small/train/...``); we drop that first part and resolve the rest inside the
dataset folder, so a renamed folder still works.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import Case, ProblemLog, normalise_sex, normalise_view
from cxrviewer.reports.labels import CHEXPERT_LABELS
from cxrviewer.reports.sections import ReportSections, from_pairs, split_sections

NAME = "chexpert"
# Held-out files first: a patient listed there keeps that split even if train.csv repeats them.
SPLIT_FILES = (("test.csv", "test"), ("valid.csv", "valid"), ("train.csv", "train"))
SPLIT_DIRS = ("train", "valid", "test")
PLUS_PREFIX = "df_chexpert_plus"
_NO_REPORT = ReportSections()
_PLUS_SECTIONS = (
    ("indication", ("section_history", "section_clinical_history")),
    ("comparison", ("section_comparison",)),
    ("findings", ("section_findings",)),
    ("impression", ("section_impression",)),
)


@dataclass(frozen=True)
class Layout:
    folder: Path  # the dataset folder: the one holding train.csv / valid.csv
    tables: tuple[tuple[Path, str], ...]  # (csv, split)


def _tables_in(folder: Path) -> tuple[tuple[Path, str], ...]:
    return tuple((folder / name, split) for name, split in SPLIT_FILES if (folder / name).is_file())


def _looks_like_chexpert(path: Path) -> bool:
    try:
        with T.open_text(path) as fh:
            first = fh.readline()
    except OSError:
        return False
    return first.lstrip("\ufeff").startswith("Path,")


def locate(root: Path) -> Layout | None:
    """The dataset folder: ``root`` itself, or a ``CheXpert*`` folder directly inside it."""
    candidates = [root]
    if root.is_dir():
        try:
            candidates += sorted(p for p in root.iterdir() if p.name.lower().startswith("chexpert") and p.is_dir())
        except OSError:
            pass
    for folder in candidates:
        tables = _tables_in(folder)
        if tables and all(_looks_like_chexpert(path) for path, _ in tables):
            return Layout(folder, tables)
    return None


def detect(root: Path) -> bool:
    return locate(Path(root)) is not None


def iter_cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    """Every image row of test.csv, valid.csv and train.csv whose file exists.

    Raises
    ------
    DatasetError
        When neither ``root`` nor a CheXpert folder inside it holds the CSVs.
    """
    root = Path(root)
    layout = locate(root)
    if layout is None:
        raise T.wrong_root(NAME, root, "no CheXpert train.csv / valid.csv here or in a CheXpert* folder inside")
    tables = [T.Table(path, ("Path",), NAME) for path, _ in layout.tables]
    return _cases(layout, tables, problems)


def _cases(layout: Layout, tables: list[T.Table], problems: ProblemLog) -> Iterator[Case]:
    reports = load_plus_reports(layout.folder, problems)
    files = T.DirCache()
    patient_split: dict[str, str] = {}
    for table, (_, split) in zip(tables, layout.tables):
        make = RowReader(layout.folder, table, split, reports)
        for line, cells in table.rows(problems):
            try:
                case = make(cells)
            except T.RowError as exc:
                T.bad_row(problems, table.path, line, str(exc))
                continue
            if not files.exists(case.image):
                T.missing_image(problems, case.image)
                continue
            held = patient_split.setdefault(case.patient_id, split)
            yield case if held == split else _with_split(case, held)


def _with_split(case: Case, split: str) -> Case:
    return replace(case, split=split)


def inner_path(cell: str) -> str:
    """``CheXpert-v1.0-small/train/p/s/v.jpg`` -> ``train/p/s/v.jpg`` (also accepts the latter).

    Raises
    ------
    RowError
        When the path is not ``[folder/]split/patient/study/image``, or has a ``..`` part
        (``.../train/../../outside.jpg`` would read a file outside the dataset).
    """
    parts = [p for p in cell.strip().replace("\\", "/").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise T.RowError(f"Path {cell!r} leads outside the dataset folder")
    if parts and parts[0] not in SPLIT_DIRS:
        parts = parts[1:]
    if len(parts) != 4 or parts[0] not in SPLIT_DIRS:
        raise T.RowError(f"unexpected Path {cell!r} (expected <folder>/<split>/<patient>/<study>/<image>)")
    return "/".join(parts)


class RowReader:
    """Turns a row of one CSV into a Case, with column positions resolved once per file."""

    def __init__(self, folder: Path, table: T.Table, split: str, reports: dict[str, ReportSections]) -> None:
        col = table.col
        self.folder = str(folder)
        self.split = split
        self.reports = reports
        self.path = col["Path"]
        self.sex, self.age = col.get("Sex"), col.get("Age")
        self.frontal_lateral, self.ap_pa = col.get("Frontal/Lateral"), col.get("AP/PA")
        self.findings = T.status_reader(col, {label: label for label in CHEXPERT_LABELS})

    def view(self, cells: list[str]) -> str:
        if self.frontal_lateral is not None and cells[self.frontal_lateral].strip().lower() == "lateral":
            return "LATERAL"
        return normalise_view(cells[self.ap_pa]) if self.ap_pa is not None else ""

    def __call__(self, cells: list[str]) -> Case:
        inner = inner_path(cells[self.path])
        key = os.path.splitext(inner)[0]
        _, patient, study, image = key.split("/")
        return Case(
            case_id=f"{NAME}:{patient}/{study}/{image}",
            patient_id=patient,
            study_id=f"{patient}/{study}",
            image=os.path.join(self.folder, inner),
            dataset=NAME,
            view=self.view(cells),
            sex=normalise_sex(cells[self.sex]) if self.sex is not None else "",
            age=T.parse_age(cells[self.age]) if self.age is not None else None,
            report=self.reports.get(key, _NO_REPORT),
            findings=self.findings(cells),
            findings_source="dataset",
            split=self.split,
        )


# --------------------------------------------------------------------------- CheXpert Plus


def find_plus_csv(folder: Path) -> Path | None:
    """``df_chexpert_plus_*.csv`` in the dataset folder or its parent (newest name first)."""
    for place in (folder, folder.parent):
        try:
            found = sorted((p for p in place.iterdir() if p.name.startswith(PLUS_PREFIX)
                            and p.name.endswith((".csv", ".csv.gz")) and p.is_file()), reverse=True)
        except OSError:
            continue
        if found:
            return found[0]
    return None


def load_plus_reports(folder: Path, problems: ProblemLog) -> dict[str, ReportSections]:
    """Report sections by image path without extension (``train/patient1/study1/view1_frontal``)."""
    path = find_plus_csv(folder)
    if path is None:
        return {}
    table = T.Table(path, ("path_to_image",), NAME)
    reports: dict[str, ReportSections] = {}
    for line, cells in table.rows(problems):
        row = dict(zip(table.header, cells))
        try:
            key = os.path.splitext(inner_path(row["path_to_image"]))[0]
        except T.RowError as exc:
            T.bad_row(problems, path, line, str(exc))
            continue
        sections = plus_sections(row)
        if sections.findings or sections.impression or sections.indication:
            reports[key] = sections
    return reports


def plus_sections(row: dict[str, str]) -> ReportSections:
    """Sections from CheXpert Plus's ``section_*`` columns, else from the whole ``report``."""
    pairs = []
    for section, columns in _PLUS_SECTIONS:
        text = next((row[c].strip() for c in columns if row.get(c, "").strip()), "")
        if text:
            pairs.append((section, text))
    if any(section in ("findings", "impression") for section, _ in pairs):
        return from_pairs(pairs)
    return split_sections(row.get("report", "") or "")


ADAPTER = T.Adapter(NAME, detect, iter_cases)
