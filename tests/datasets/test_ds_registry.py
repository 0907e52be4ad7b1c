"""Every adapter is reachable through the registry, and each layout is claimed by one adapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dataset_trees import write_csv

from cxrviewer.datasets.registry import adapter_for

ADAPTERS = ("chexpert", "mimic", "openi", "nih", "folder")


@pytest.mark.parametrize("name", ADAPTERS)
def test_registry_loads_adapter(name: str) -> None:
    adapter = adapter_for(name)
    assert adapter.name == name and callable(adapter.detect) and callable(adapter.iter_cases)


def _chexpert(root: Path) -> None:
    write_csv(root / "CheXpert-v1.0" / "valid.csv", ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"], [])


def _mimic(root: Path) -> None:
    write_csv(root / "mimic-cxr-2.0.0-metadata.csv.gz", ["dicom_id", "subject_id", "study_id"], [])


def _openi(root: Path) -> None:
    write_csv(root / "indiana_reports.csv", ["uid", "findings", "impression"], [])
    write_csv(root / "indiana_projections.csv", ["uid", "filename", "projection"], [])


def _nih(root: Path) -> None:
    write_csv(root / "Data_Entry_2017_v2020.csv", ["Image Index"], [])


@pytest.mark.parametrize(("name", "make"), [("chexpert", _chexpert), ("mimic", _mimic),
                                             ("openi", _openi), ("nih", _nih)])
def test_each_layout_is_detected_by_its_adapter_only(tmp_path: Path, name: str, make) -> None:
    make(tmp_path)
    claimed = [other for other in ADAPTERS[:-1] if adapter_for(other).detect(tmp_path)]
    assert claimed == [name]
    assert adapter_for("folder").detect(tmp_path)


def test_datasets_import_neither_qt_nor_torch() -> None:
    code = ("import sys, cxrviewer.datasets.chexpert, cxrviewer.datasets.mimic, cxrviewer.datasets.openi, "
            "cxrviewer.datasets.nih, cxrviewer.datasets.folder; "
            "bad = [m for m in ('PySide6', 'torch', 'faiss', 'pyqtgraph') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
