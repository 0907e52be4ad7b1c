"""CheXpert v1.0 / -small read as distributed, root = dataset folder or its parent."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import assert_patient_disjoint, run_adapter, write_csv, write_image

from cxrviewer.datasets import chexpert
from cxrviewer.datasets.case import DatasetError
from cxrviewer.datasets.registry import detect

HEADER = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum",
          "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia",
          "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"]
DS = "CheXpert-v1.0-small"


def _row(path: str, sex: str = "Female", age: object = 68, lateral: bool = False, ap_pa: str = "AP",
         labels: dict[int, str] | None = None) -> list[object]:
    cells = [""] * 14
    for index, value in (labels or {}).items():
        cells[index] = value
    return [path, sex, age, "Lateral" if lateral else "Frontal", "" if lateral else ap_pa, *cells]


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """The parent of CheXpert-v1.0-small, as unzipped from the download."""
    folder = tmp_path / DS
    train = [
        _row(f"{DS}/train/patient00001/study1/view1_frontal.jpg", labels={0: "1.0"}),
        _row(f"{DS}/train/patient00002/study2/view1_frontal.jpg", "Male", 87, ap_pa="PA",
             labels={2: "-1.0", 8: "-1.0", 13: "1.0", 10: "0.0"}),
        _row(f"{DS}/train/patient00002/study2/view2_lateral.jpg", "Male", 87, lateral=True),
        _row(f"{DS}/train/patient00003/study1/view1_frontal.jpg"),  # image missing
        _row(f"{DS}/train/patient00004/study1/view1_frontal.jpg", labels={2: "2.0"}),  # bad label
        [f"{DS}/train/patient00005/study1/view1_frontal.jpg", "Male", 40],  # short row
        _row(f"{DS}/train/patient00006/study1/view1_frontal.jpg", age="old"),  # bad age
    ]
    valid = [_row(f"{DS}/valid/patient64541/study1/view1_frontal.jpg", "Male", 73, labels={2: "1.0"})]
    write_csv(folder / "train.csv", HEADER, train)
    write_csv(folder / "valid.csv", HEADER, valid)
    for row in (train[0], train[1], train[2], train[4], train[5], train[6], valid[0]):
        write_image(tmp_path / str(row[0]))
    return tmp_path


def test_reads_rows_labels_and_views(parent: Path) -> None:
    cases, _problems = run_adapter(chexpert.ADAPTER, parent)
    by_id = {c.case_id: c for c in cases}
    assert list(by_id) == ["chexpert:patient64541/study1/view1_frontal",
                           "chexpert:patient00001/study1/view1_frontal",
                           "chexpert:patient00002/study2/view1_frontal",
                           "chexpert:patient00002/study2/view2_lateral"]
    first = by_id["chexpert:patient00001/study1/view1_frontal"]
    assert (first.patient_id, first.study_id, first.sex, first.age, first.view, first.split) == (
        "patient00001", "patient00001/study1", "F", 68.0, "AP", "train")
    assert first.findings == {"No Finding": "positive"} and first.findings_source == "dataset"
    assert Path(first.image) == parent / DS / "train/patient00001/study1/view1_frontal.jpg"
    second = by_id["chexpert:patient00002/study2/view1_frontal"]
    assert second.view == "PA" and second.sex == "M"
    assert second.findings == {"Cardiomegaly": "uncertain", "Atelectasis": "uncertain",
                               "Support Devices": "positive", "Pleural Effusion": "negative"}
    assert by_id["chexpert:patient00002/study2/view2_lateral"].view == "LATERAL"
    assert by_id["chexpert:patient64541/study1/view1_frontal"].split == "valid"


def test_problems_name_file_and_line(parent: Path) -> None:
    _, problems = run_adapter(chexpert.ADAPTER, parent)
    train = str(parent / DS / "train.csv")
    got = sorted((p.path, p.line, p.reason.split(" ")[0]) for p in problems)
    assert got == sorted([
        (str(parent / DS / "train/patient00003/study1/view1_frontal.jpg"), None, "image"),
        (train, 6, "unparsable"), (train, 7, "expected"), (train, 8, "unparsable")])


def test_root_may_be_the_dataset_folder(parent: Path) -> None:
    from_parent, _ = run_adapter(chexpert.ADAPTER, parent)
    from_folder, _ = run_adapter(chexpert.ADAPTER, parent / DS)
    assert from_parent == from_folder
    assert detect(parent) == detect(parent / DS) == "chexpert"


def test_patient_disjoint(parent: Path) -> None:
    # A valid patient repeated in train.csv stays in valid.
    rows = (parent / DS / "train.csv").read_text().splitlines()
    rows.append(f"{DS}/train/patient64541/study9/view1_frontal.jpg,Male,73,Frontal,AP" + "," * 14)
    (parent / DS / "train.csv").write_text("\n".join(rows) + "\n")
    write_image(parent / DS / "train/patient64541/study9/view1_frontal.jpg")
    cases, _ = run_adapter(chexpert.ADAPTER, parent)
    assert len(cases) == 5
    assert_patient_disjoint(cases)


def test_chexpert_plus_reports_join_on_path(parent: Path) -> None:
    write_csv(parent / "df_chexpert_plus_240401.csv",
              ["path_to_image", "path_to_dcm", "frontal_lateral", "report", "section_history",
               "section_findings", "section_impression"],
              [["train/patient00001/study1/view1_frontal.jpg", "x.dcm", "Frontal", "whole text",
                "Cough.", "Heart size is normal.\nNo effusion.", "No acute disease."],
               ["train/patient00002/study2/view1_frontal.jpg", "y.dcm", "Frontal",
                "FINDINGS: Small left effusion. IMPRESSION: Effusion.", "", "", ""]])
    cases, _problems = run_adapter(chexpert.ADAPTER, parent)
    by_id = {c.case_id: c for c in cases}
    first = by_id["chexpert:patient00001/study1/view1_frontal"].report
    assert (first.indication, first.findings, first.impression) == (
        "Cough.", "Heart size is normal.\nNo effusion.", "No acute disease.")
    second = by_id["chexpert:patient00002/study2/view1_frontal"].report
    assert second.findings == "Small left effusion." and second.impression == "Effusion."
    assert by_id["chexpert:patient00002/study2/view2_lateral"].report.body == ""
    assert by_id["chexpert:patient00001/study1/view1_frontal"].findings_source == "dataset"


def test_wrong_root_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected train\.csv and/or valid\.csv"):
        chexpert.ADAPTER.iter_cases(tmp_path, lambda p: None)
    assert not chexpert.ADAPTER.detect(tmp_path)


def test_many_rows_need_no_stat_per_file(tmp_path: Path, monkeypatch) -> None:
    """CheXpert has 224k rows: images are checked against one listing per folder, never with a
    stat per file (the full 224k read in about 6.5 s on a 2-core machine)."""
    import os

    folder = tmp_path / DS
    rows = [_row(f"{DS}/train/patient{p:05d}/study1/view{v}_frontal.jpg", labels={2: "1.0"})
            for p in range(1, 1001) for v in (1, 2)]
    write_csv(folder / "train.csv", HEADER, rows * 28)
    for p in range(1, 1001):
        for v in (1, 2):
            target = folder / f"train/patient{p:05d}/study1/view{v}_frontal.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: stats.append(a[0]) or real_stat(*a, **k))
    count = sum(1 for _ in chexpert.ADAPTER.iter_cases(tmp_path, lambda p: None))
    assert count == 56_000
    assert len(stats) < 2_000, f"{len(stats)} stat calls for 2,000 distinct images"
