"""The datasets the app can read, by name, as data: name -> adapter module and description."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.datasets.case import DatasetAdapter, DatasetError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    module: str
    title: str
    expected: str  # what the root must contain, for the "nothing found here" message


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("chexpert", "cxrviewer.datasets.chexpert", "CheXpert v1.0 (and -small)",
                    "train.csv and/or valid.csv with Path, Sex, Age, Frontal/Lateral, AP/PA and the 14 label columns"),
        DatasetSpec("mimic", "cxrviewer.datasets.mimic", "MIMIC-CXR-JPG 2.x",
                    "mimic-cxr-2.0.0-metadata.csv(.gz), -chexpert.csv(.gz), -split.csv(.gz) and files/pXX/..."),
        DatasetSpec("openi", "cxrviewer.datasets.openi", "Open-i / Indiana University chest X-rays",
                    "ecgen-radiology/*.xml with the images, or indiana_reports.csv + indiana_projections.csv"),
        DatasetSpec("nih", "cxrviewer.datasets.nih", "NIH ChestX-ray14",
                    "Data_Entry_2017.csv (or _v2020) and images_*/images/*.png"),
        DatasetSpec("folder", "cxrviewer.datasets.folder", "Any folder of DICOM / PNG / JPEG files",
                    "DICOM, PNG or JPEG files, with report text beside them when available"),
        DatasetSpec("demo", "cxrviewer.datasets.demo", "Synthetic demo data",
                    "a folder written by the demo generator (demo_cases.jsonl)"),
    )
}


def adapter_for(name: str) -> DatasetAdapter:
    try:
        spec = DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}") from None
    return importlib.import_module(spec.module).ADAPTER


def detect(root: Path) -> str | None:
    """The name of the first dataset whose layout ``root`` matches (the folder adapter last)."""
    for name in DATASETS:
        if name != "folder" and adapter_for(name).detect(root):
            return name
    return None
