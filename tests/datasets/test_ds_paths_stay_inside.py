"""A dataset's tables are data: a path in a row must not lead a build outside the dataset's
folder (``train/../../outside.jpg`` read a file beside the dataset into the library). Each such
row is a problem with its file and line; the other rows still read."""

from __future__ import annotations

import json
from pathlib import Path

from dataset_trees import (
    CHEXPERT_FOLDER,
    CHEXPERT_HEADER,
    MIMIC_FILMS,
    MIMIC_META,
    mimic_tree,
    run_adapter,
    write_csv,
    write_image,
)

from cxrviewer.datasets import chexpert, mimic
from cxrviewer.datasets.demo import ADAPTER as DEMO


def _chexpert_row(path: str) -> list[object]:
    return [path, "Female", 60, "Frontal", "PA", "1.0"] + [""] * (len(CHEXPERT_HEADER) - 6)


def test_a_chexpert_row_that_climbs_out_of_the_dataset_is_a_problem(tmp_path: Path) -> None:
    folder = tmp_path / CHEXPERT_FOLDER
    outside = write_image(tmp_path / "outside.jpg")  # exists, beside the dataset folder
    write_image(tmp_path / "train" / "p" / "outside.jpg")
    write_image(folder / "train" / "patient00001" / "study1" / "view1_frontal.jpg")
    write_csv(folder / "train.csv", CHEXPERT_HEADER, [
        _chexpert_row(f"{CHEXPERT_FOLDER}/train/patient00001/study1/view1_frontal.jpg"),
        _chexpert_row(f"{CHEXPERT_FOLDER}/train/../../outside.jpg"),
        _chexpert_row(f"{CHEXPERT_FOLDER}/train/../../train/p/outside.jpg"),
    ])
    cases, problems = run_adapter(chexpert.ADAPTER, tmp_path)
    assert [c.case_id for c in cases] == ["chexpert:patient00001/study1/view1_frontal"]
    assert all(Path(c.image).resolve().is_relative_to(folder.resolve()) for c in cases)
    assert not any(Path(c.image).resolve() == outside.resolve() for c in cases)
    train = str(folder / "train.csv")
    assert [(p.path, p.line) for p in problems] == [(train, 3), (train, 4)]
    assert all("outside the dataset folder" in p.reason for p in problems)


def test_a_mimic_dicom_id_with_a_folder_part_is_a_problem(tmp_path: Path) -> None:
    root = mimic_tree(tmp_path / "mimic")
    dicom, subject, study = MIMIC_FILMS[0]
    sneaky = f"../../../../../outside/{dicom}"
    write_image(tmp_path / "outside" / f"{dicom}.jpg")
    meta = root / "mimic-cxr-2.0.0-metadata.csv.gz"
    write_csv(meta, MIMIC_META, [[d, s, st, "PA"] for d, s, st in MIMIC_FILMS] + [[sneaky, subject, study, "PA"]])
    cases, problems = run_adapter(mimic.ADAPTER, root)
    assert sorted(c.case_id for c in cases) == sorted(f"mimic:{d}" for d, _, _ in MIMIC_FILMS)
    assert all(Path(c.image).resolve().is_relative_to(root.resolve()) for c in cases)
    found = [p for p in problems if p.path == str(meta)]
    assert [p.line for p in found] == [4] and "dicom_id" in found[0].reason


def test_a_demo_record_naming_a_file_outside_its_folder_is_a_problem(demo_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    records = [json.loads(line) for line in (demo_dataset / "demo_cases.jsonl").read_text().splitlines()[:2]]
    for record in records:
        target = root / record["image"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((demo_dataset / record["image"]).read_bytes())
    secret = write_image(tmp_path / "secret.png")
    records.append({**records[0], "case_id": "ESCAPE", "image": "../secret.png"})
    records.append({**records[0], "case_id": "ABSOLUTE", "image": str(secret)})
    (root / "demo_cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    cases, problems = run_adapter(DEMO, root)
    assert [c.case_id for c in cases] == [r["case_id"] for r in records[:2]]
    assert [(p.line, "outside the dataset folder" in p.reason) for p in problems] == [(3, True), (4, True)]
