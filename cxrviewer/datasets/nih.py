"""NIH ChestX-ray14: ``Data_Entry_2017.csv`` (or ``_v2020``) and ``images_001/images/*.png``.

``Finding Labels`` lists the positive findings joined by ``|`` ("No Finding" when none); every
other ChestX-ray14 label is negative, since the NIH mining coded all 14 for every image. The
official split (``test_list.txt`` / ``train_val_list.txt``) is patient-disjoint; we keep it and
carve a patient-disjoint validation set out of train_val with ``split_for_patient``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import Case, ProblemLog, normalise_sex, normalise_view, split_for_patient
from cxrviewer.reports import labels as L

NAME = "nih"
# Newest first; sample_labels.csv is the Kaggle 5% sample's name for the same table.
ENTRY_FILES = ("Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv", "sample_labels.csv")
REQUIRED = ("Image Index", "Finding Labels", "Patient ID", "Patient Age", "Patient Gender", "View Position")
TEST_LIST = "test_list.txt"
TRAIN_VAL_LIST = "train_val_list.txt"
VALID_FRACTION = 0.1
# A nodule or mass is also a CheXpert Lung Lesion, and so on (see reports/labels.py).
ROLL_UPS = {L.NODULE: L.LUNG_LESION, L.MASS: L.LUNG_LESION,
            L.PLEURAL_THICKENING: L.PLEURAL_OTHER, L.INFILTRATION: L.LUNG_OPACITY}


@dataclass(frozen=True)
class Layout:
    root: Path
    entries: Path


def locate(root: Path) -> Layout | None:
    for name in ENTRY_FILES:
        found = T.find_table(root, name)
        if found is not None:
            return Layout(root, found)
    return None


def detect(root: Path) -> bool:
    return locate(Path(root)) is not None


def iter_cases(root: Path, problems: ProblemLog) -> Iterator[Case]:
    """One case per row of the data-entry CSV whose PNG exists.

    Raises
    ------
    DatasetError
        When ``root`` has no ``Data_Entry_2017.csv`` (or ``_v2020``).
    """
    root = Path(root)
    layout = locate(root)
    if layout is None:
        raise T.wrong_root(NAME, root, "no Data_Entry_2017.csv here")
    table = T.Table(layout.entries, REQUIRED, NAME)
    return _cases(layout, table, problems)


def image_folders(root: Path) -> list[Path]:
    """Where the PNGs may be: ``images_NNN/images`` (as unpacked), ``images/``, or the root."""
    folders = [root, root / "images", root / "sample" / "images"]
    try:
        numbered = sorted(p for p in root.iterdir() if p.name.startswith("images_") and p.is_dir())
    except OSError:
        numbered = []
    for folder in numbered:
        folders += [folder / "images", folder]
    return [f for f in folders if f.is_dir()]


def index_images(root: Path) -> dict[str, str]:
    """PNG name -> folder, from one listing per image folder (112k names in well under 1 s)."""
    index: dict[str, str] = {}
    for folder in image_folders(root):
        for name in os.listdir(folder):
            if name.lower().endswith(".png"):
                index.setdefault(name, str(folder))
    return index


def normalise_patient(value: str) -> str:
    """``00000013`` (file names, the sample CSV) and ``13`` (Data_Entry_2017) are one patient."""
    text = value.strip()
    return str(int(text)) if text.isdigit() else text


def _read_list(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [line.strip() for line in fh if line.strip()]


class Splitter:
    """train/valid/test per patient, from the official lists when present."""

    def __init__(self, root: Path) -> None:
        self.official = (root / TEST_LIST).is_file() or (root / TRAIN_VAL_LIST).is_file()
        self.test_patients: set[str] = set()
        if (root / TEST_LIST).is_file():
            self.test_patients = {normalise_patient(n.split("_")[0]) for n in _read_list(root / TEST_LIST)}

    def __call__(self, patient: str) -> str:
        if not self.official:
            return split_for_patient(patient)
        if patient in self.test_patients:
            return "test"
        return split_for_patient(patient, valid=VALID_FRACTION, test=0.0)


def findings_from(cell: str) -> dict[str, str]:
    """``Effusion|Mass`` -> those positive, the other ChestX-ray14 labels negative.

    Raises
    ------
    RowError
        When a label is not one of ChestX-ray14's.
    """
    names = [n.strip() for n in cell.split("|") if n.strip()]
    unknown = [n for n in names if n not in L.CXR14_TO_OURS]
    if unknown or not names:
        raise T.RowError(f"unknown finding label(s) {', '.join(unknown) or '(empty)'}")
    findings = dict.fromkeys(L.CXR14_TO_OURS.values(), "negative")
    for name in names:
        ours = L.CXR14_TO_OURS[name]
        findings[ours] = "positive"
        if ours in ROLL_UPS:
            findings[ROLL_UPS[ours]] = "positive"
    return findings


def _cases(layout: Layout, table: T.Table, problems: ProblemLog) -> Iterator[Case]:
    images = index_images(layout.root)
    split_of = Splitter(layout.root)
    col = table.col
    for line, cells in table.rows(problems):
        name = cells[col["Image Index"]].strip()
        patient = normalise_patient(cells[col["Patient ID"]])
        try:
            if not name or not patient:
                raise T.RowError("empty Image Index or Patient ID")
            findings = findings_from(cells[col["Finding Labels"]])
            age = T.parse_age(cells[col["Patient Age"]])
        except T.RowError as exc:
            T.bad_row(problems, table.path, line, str(exc))
            continue
        folder = images.get(name)
        if folder is None:
            T.missing_image(problems, layout.root / "images" / name)
            continue
        stem = os.path.splitext(name)[0]
        yield Case(
            case_id=f"{NAME}:{stem}",
            patient_id=patient,
            study_id=stem,
            image=os.path.join(folder, name),
            dataset=NAME,
            view=normalise_view(cells[col["View Position"]]),
            sex=normalise_sex(cells[col["Patient Gender"]]),
            age=age,
            findings=findings,
            findings_source="dataset",
            split=split_of(patient),
        )


ADAPTER = T.Adapter(NAME, detect, iter_cases)
