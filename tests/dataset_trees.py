"""Tiny dataset trees in each dataset's exact layout, with real image files, for any test folder.

It sits at the top of tests/ (on sys.path through tests/conftest.py), like tiny_models.py, so the
adapter tests and the library and GUI tests build the same layouts.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from cxrviewer.datasets.case import Case, DatasetProblem


def write_image(path: Path) -> Path:
    """A real 8x8 greyscale PNG or JPEG, chosen by the suffix."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    Image.fromarray(pixels, "L").save(path, "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A CSV as the datasets write it (gzipped when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Callable[..., object] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_adapter(adapter: object, root: Path) -> tuple[list[Case], list[DatasetProblem]]:
    problems: list[DatasetProblem] = []
    cases = list(adapter.iter_cases(root, problems.append))  # type: ignore[attr-defined]
    return cases, problems


def assert_patient_disjoint(cases: list[Case]) -> None:
    splits: dict[str, set[str]] = {}
    for case in cases:
        splits.setdefault(case.patient_id, set()).add(case.split)
    mixed = {p: s for p, s in splits.items() if len(s) > 1}
    assert not mixed, f"patients in more than one split: {mixed}"


# --------------------------------------------------------------------------- whole trees
# Small datasets in their distributed layouts, for tests outside tests/datasets (library, GUI).

CHEXPERT_FOLDER = "CheXpert-v1.0-small"
CHEXPERT_HEADER = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding",
                   "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                   "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
                   "Pleural Other", "Fracture", "Support Devices"]


def chexpert_tree(parent: Path, plus: bool = True) -> Path:
    """``parent/CheXpert-v1.0-small`` with three films; with ``plus``, a CheXpert Plus CSV beside
    it gives the first film a report. Returns ``parent`` (a valid --root)."""
    folder = parent / CHEXPERT_FOLDER
    labels = {name: i for i, name in enumerate(CHEXPERT_HEADER[5:])}

    def row(path: str, sex: str, age: int, **coded: str) -> list[object]:
        cells = [""] * 14
        for name, value in coded.items():
            cells[labels[name.replace("_", " ")]] = value
        return [f"{CHEXPERT_FOLDER}/{path}", sex, age, "Frontal", "PA", *cells]

    write_csv(folder / "train.csv", CHEXPERT_HEADER, [
        row("train/patient00001/study1/view1_frontal.jpg", "Female", 68, Cardiomegaly="1.0",
            Pleural_Effusion="-1.0", Edema="0.0"),
        row("train/patient00002/study1/view1_frontal.jpg", "Male", 54, Edema="1.0", Support_Devices="1.0"),
    ])
    write_csv(folder / "valid.csv", CHEXPERT_HEADER, [
        row("valid/patient64541/study1/view1_frontal.jpg", "Male", 73, No_Finding="1.0")])
    for path in ("train/patient00001/study1/view1_frontal.jpg", "train/patient00002/study1/view1_frontal.jpg",
                 "valid/patient64541/study1/view1_frontal.jpg"):
        write_image(folder / path)
    if plus:
        write_csv(parent / "df_chexpert_plus_240401.csv",
                  ["path_to_image", "report", "section_history", "section_findings", "section_impression"],
                  [["train/patient00001/study1/view1_frontal.jpg", "whole text", "Dyspnoea.",
                    "The heart is enlarged. Possible small right effusion.", "Cardiomegaly."]])
    return parent


NIH_HEADER = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
              "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],")


def nih_tree(root: Path, missing: int = 0) -> Path:
    """``Data_Entry_2017.csv`` and ``images_001/images/*.png`` for three films, plus ``missing``
    rows whose PNG is not there (each one a problem of the build)."""
    rows = ["00000001_000.png,Cardiomegaly|Effusion,0,1,58,M,PA,2682,2749,0.143,0.143,",
            "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171,",
            "00000003_000.png,Mass|Nodule,0,3,45,F,AP,2500,2048,0.168,0.168,"]
    rows += [f"{10000 + n:08d}_000.png,Hernia,0,{10000 + n},60,F,PA,2048,2048,0.168,0.168,"
             for n in range(missing)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "Data_Entry_2017.csv").write_text("\n".join([NIH_HEADER, *rows]) + "\n", encoding="utf-8")
    for name in ("00000001_000.png", "00000002_000.png", "00000003_000.png"):
        write_image(root / "images_001" / "images" / name)
    return root


MIMIC_META = ["dicom_id", "subject_id", "study_id", "ViewPosition"]
MIMIC_LABELS = ["subject_id", "study_id", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
                "Enlarged Cardiomediastinum", "Fracture", "Lung Lesion", "Lung Opacity", "No Finding",
                "Pleural Effusion", "Pleural Other", "Pneumonia", "Pneumothorax", "Support Devices"]
MIMIC_FILMS = (("02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", "10000032", "50414267"),
               ("68b5c4b1-227d0485-9cc38c3f-7b84ab51-4b472714", "10000764", "57375967"))


def mimic_image(root: Path, dicom: str, subject: str, study: str) -> Path:
    return root / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{study}" / f"{dicom}.jpg"


def mimic_tree(root: Path) -> Path:
    """MIMIC-CXR-JPG with gzipped tables: two films with CheXpert labels, the first with its
    study's report in ``mimic-cxr-reports``."""
    write_csv(root / "mimic-cxr-2.0.0-metadata.csv.gz", MIMIC_META,
              [[dicom, subject, study, "PA"] for dicom, subject, study in MIMIC_FILMS])
    no_finding, effusion = MIMIC_LABELS.index("No Finding"), MIMIC_LABELS.index("Pleural Effusion")
    first = [MIMIC_FILMS[0][1], MIMIC_FILMS[0][2]] + [""] * 14
    first[no_finding] = "1.0"
    second = [MIMIC_FILMS[1][1], MIMIC_FILMS[1][2]] + [""] * 14
    second[effusion] = "-1.0"
    write_csv(root / "mimic-cxr-2.0.0-chexpert.csv.gz", MIMIC_LABELS, [first, second])
    for film in MIMIC_FILMS:
        write_image(mimic_image(root, *film))
    _dicom, subject, study = MIMIC_FILMS[0]
    report = root / "mimic-cxr-reports" / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{study}.txt"
    report.parent.mkdir(parents=True)
    report.write_text("                                 FINAL REPORT\n INDICATION:  Cough.\n\n FINDINGS:\n\n"
                      " No focal consolidation, pleural effusion or pneumothorax.\n\n IMPRESSION:\n\n"
                      " No acute cardiopulmonary process.\n")
    return root
