"""NIH ChestX-ray14: Data_Entry_2017.csv with images_NNN/images/*.png."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from dataset_trees import assert_patient_disjoint, run_adapter, write_image

from cxrviewer.datasets import nih
from cxrviewer.datasets.case import DatasetError
from cxrviewer.datasets.registry import detect

# As distributed: the header's "[Width,Height]" splits into two cells, and rows end with a comma.
HEADER = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
          "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],")
ROWS = [
    "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143,",
    "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143,",
    "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171,",
    "00000003_000.png,Hernia,0,3,81,F,AP,2582,2991,0.143,0.143,",  # image missing
    "00000004_000.png,Mass|Nodule,0,4,82,M,AP,2500,2048,0.168,0.168,",
    "00000005_000.png,Made Up,0,5,69,F,PA,2048,2500,0.168,0.168,",  # unknown label
    "00000006_000.png,No Finding,0,6,abc,M,PA,2048,2500,0.168,0.168,",  # bad age
    "00000007_000.png,No Finding,0,7,",  # short row
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "Data_Entry_2017.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    for name in ("00000001_000.png", "00000001_001.png", "00000002_000.png"):
        write_image(tmp_path / "images_001" / "images" / name)
    for name in ("00000004_000.png", "00000005_000.png", "00000006_000.png", "00000007_000.png"):
        write_image(tmp_path / "images_002" / "images" / name)
    return tmp_path


def test_rows_findings_and_problems(root: Path) -> None:
    cases, problems = run_adapter(nih.ADAPTER, root)
    by_id = {c.case_id: c for c in cases}
    assert list(by_id) == ["nih:00000001_000", "nih:00000001_001", "nih:00000002_000", "nih:00000004_000"]
    first = by_id["nih:00000001_000"]
    assert (first.patient_id, first.study_id, first.age, first.sex, first.view) == (
        "1", "00000001_000", 58.0, "M", "PA")
    assert first.findings["Cardiomegaly"] == "positive" and first.findings["No Finding"] == "negative"
    assert first.findings["Pleural Effusion"] == "negative" and len(first.findings) == 15
    assert first.findings_source == "dataset"
    assert Path(first.image) == root / "images_001" / "images" / "00000001_000.png"
    assert by_id["nih:00000002_000"].findings["No Finding"] == "positive"
    assert sum(s == "positive" for s in by_id["nih:00000002_000"].findings.values()) == 1
    mass = by_id["nih:00000004_000"].findings
    assert mass["Mass"] == mass["Nodule"] == mass["Lung Lesion"] == "positive"
    table = str(root / "Data_Entry_2017.csv")
    assert sorted((p.path, p.line, p.reason.split()[0]) for p in problems) == sorted([
        (str(root / "images" / "00000003_000.png"), None, "image"),
        (table, 7, "unknown"), (table, 8, "unparsable"), (table, 9, "expected")])
    assert detect(root) == "nih"


def test_official_lists_give_test_and_a_patient_disjoint_valid(root: Path) -> None:
    (root / "test_list.txt").write_text("00000002_000.png\n")
    (root / "train_val_list.txt").write_text("00000001_000.png\n00000001_001.png\n00000004_000.png\n")
    cases, _ = run_adapter(nih.ADAPTER, root)
    splits = {c.case_id: c.split for c in cases}
    assert splits["nih:00000002_000"] == "test"
    assert {splits[k] for k in ("nih:00000001_000", "nih:00000001_001", "nih:00000004_000")} <= {"train", "valid"}
    assert_patient_disjoint(cases)


def test_flat_images_folder_and_v2020_name(root: Path) -> None:
    (root / "Data_Entry_2017.csv").rename(root / "Data_Entry_2017_v2020.csv")
    for png in root.glob("images_*/images/*.png"):
        (root / "images").mkdir(exist_ok=True)
        shutil.move(png, root / "images" / png.name)
    cases, _ = run_adapter(nih.ADAPTER, root)
    assert len(cases) == 4 and all(Path(c.image).parent == root / "images" for c in cases)


@pytest.mark.needs_shared
def test_real_sample_labels(shared_data: Path, tmp_path: Path) -> None:
    """5,606 real rows ("060Y" ages, zero-padded ids); PNGs only for a few of them."""
    source = shared_data / "metadata" / "nih" / "sample_labels.csv"
    shutil.copy(source, tmp_path / "Data_Entry_2017.csv")
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    made = [r["Image Index"] for r in rows[:3]] + [r["Image Index"] for r in rows[-2:]]
    for i, name in enumerate(made):
        write_image(tmp_path / f"images_00{1 + i % 2}" / "images" / name)
    cases, problems = run_adapter(nih.ADAPTER, tmp_path)
    assert [Path(c.image).name for c in cases] == made
    assert len(problems) == len(rows) - len(made)
    assert {p.reason for p in problems} == {"image file not found"}
    first = cases[0]  # 00000013_005.png: Emphysema|Infiltration|Pleural_Thickening|Pneumothorax, 060Y, M, AP
    assert (first.patient_id, first.age, first.sex, first.view) == ("13", 60.0, "M", "AP")
    assert {k for k, v in first.findings.items() if v == "positive"} == {
        "Emphysema", "Infiltration", "Pleural Thickening", "Pneumothorax", "Lung Opacity", "Pleural Other"}
    assert_patient_disjoint(cases)


def test_patient_disjoint_without_lists(tmp_path: Path) -> None:
    lines = [HEADER]
    for patient in range(1, 41):
        for follow_up in range(3):
            name = f"{patient:08d}_{follow_up:03d}.png"
            lines.append(f"{name},No Finding,{follow_up},{patient},40,F,PA,1,1,0.1,0.1,")
            write_image(tmp_path / "images" / name)
    (tmp_path / "Data_Entry_2017.csv").write_text("\n".join(lines) + "\n")
    cases, problems = run_adapter(nih.ADAPTER, tmp_path)
    assert len(cases) == 120 and not problems
    assert len({c.split for c in cases}) > 1
    assert_patient_disjoint(cases)


def test_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected Data_Entry_2017\.csv"):
        nih.ADAPTER.iter_cases(tmp_path, lambda p: None)
