"""MIMIC-CXR-JPG 2.x read as distributed: gzipped CSVs, files/pXX/pSUBJECT/sSTUDY/*.jpg."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import assert_patient_disjoint, run_adapter, write_csv, write_image

from cxrviewer.datasets import mimic
from cxrviewer.datasets.case import DatasetError
from cxrviewer.datasets.registry import detect

META = ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows",
        "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
        "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"]
LABELS = ["subject_id", "study_id", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
          "Enlarged Cardiomediastinum", "Fracture", "Lung Lesion", "Lung Opacity", "No Finding",
          "Pleural Effusion", "Pleural Other", "Pneumonia", "Pneumothorax", "Support Devices"]
D1 = "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014"
D2 = "174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962"
D3 = "2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab"
D4 = "68b5c4b1-227d0485-9cc38c3f-7b84ab51-4b472714"
D5 = "fffabebf-74fd3a1f-673b6b41-96ec0ac9-2ab69818"


def _meta(dicom: str, subject: str, study: str, view: str) -> list[object]:
    return [dicom, subject, study, "CHEST (PA AND LAT)", view, 3056, 2544, 21800506, 213014.531,
            "CHEST (PA AND LAT)", "postero-anterior", "Erect"]


def _labels(subject: str, study: str, **values: str) -> list[object]:
    return [subject, study] + [values.get(name.replace(" ", "_"), "") for name in LABELS[2:]]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_csv(tmp_path / "mimic-cxr-2.0.0-metadata.csv.gz", META, [
        _meta(D1, "10000032", "50414267", "PA"),
        _meta(D2, "10000032", "50414267", "LATERAL"),
        _meta(D3, "10000032", "53189527", "AP"),
        _meta(D4, "10000764", "57375967", "AP"),
        _meta(D5, "10000898", "50771383", "PA"),  # image missing
        ["bad", "abc", "123", "", "PA", 1, 1, 1, 1, "", "", ""],
        ["short", "10000032"],
    ])
    write_csv(tmp_path / "mimic-cxr-2.0.0-chexpert.csv.gz", LABELS, [
        _labels("10000032", "50414267", No_Finding="1.0"),
        _labels("10000764", "57375967", Pleural_Effusion="-1.0", Edema="0.0", Support_Devices="1.0"),
    ])
    write_csv(tmp_path / "mimic-cxr-2.0.0-split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"], [
        [D1, "50414267", "10000032", "train"], [D2, "50414267", "10000032", "train"],
        [D3, "53189527", "10000032", "train"], [D4, "57375967", "10000764", "validate"],
        [D5, "50771383", "10000898", "test"]])
    write_csv(tmp_path / "patients.csv", ["subject_id", "gender", "anchor_age", "anchor_year"],
              [["10000032", "F", "52", "2180"]])
    for dicom, subject, study in ((D1, "10000032", "50414267"), (D2, "10000032", "50414267"),
                                  (D3, "10000032", "53189527"), (D4, "10000764", "57375967")):
        write_image(tmp_path / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{study}" / f"{dicom}.jpg")
    report = tmp_path / "mimic-cxr-reports" / "files" / "p10" / "p10000032" / "s50414267.txt"
    report.parent.mkdir(parents=True)
    report.write_text("                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n\n"
                      " INDICATION:  ___F with new onset ascites\n\n FINDINGS:\n\n There is no focal consolidation,"
                      " pleural effusion or pneumothorax.\n\n IMPRESSION:\n\n No acute cardiopulmonary process.\n")
    (tmp_path / "files" / "p10" / "p10000032" / "s53189527.txt").write_text(
        "FINDINGS: Moderate right pleural effusion.\nIMPRESSION: Right effusion.\n")
    return tmp_path


def test_cases_labels_reports_and_views(root: Path) -> None:
    cases, problems = run_adapter(mimic.ADAPTER, root)
    by_id = {c.case_id: c for c in cases}
    assert list(by_id) == [f"mimic:{d}" for d in (D1, D2, D3, D4)]
    first = by_id[f"mimic:{D1}"]
    assert (first.patient_id, first.study_id, first.view, first.sex, first.age, first.split) == (
        "10000032", "50414267", "PA", "F", 52.0, "train")
    assert first.findings == {"No Finding": "positive"} and first.findings_source == "dataset"
    assert first.report.indication.startswith("___F with new onset ascites")
    assert first.report.impression == "No acute cardiopulmonary process."
    assert Path(first.image) == root / "files/p10/p10000032/s50414267" / f"{D1}.jpg"
    assert by_id[f"mimic:{D2}"].view == "LATERAL" and by_id[f"mimic:{D2}"].report == first.report
    third = by_id[f"mimic:{D3}"]  # no chexpert row: our labeler reads its report
    assert third.findings_source == "labeler"
    assert third.findings.get("Pleural Effusion") == "positive"
    fourth = by_id[f"mimic:{D4}"]
    assert fourth.split == "valid" and fourth.sex == "" and fourth.age is None
    assert fourth.findings == {"Pleural Effusion": "uncertain", "Edema": "negative", "Support Devices": "positive"}
    assert fourth.report.body == "" and fourth.findings_source == "dataset"
    meta = str(root / "mimic-cxr-2.0.0-metadata.csv.gz")
    assert sorted((p.path, p.line) for p in problems) == sorted([
        (str(root / "files/p10/p10000898/s50771383" / f"{D5}.jpg"), None), (meta, 7), (meta, 8)])


def test_plain_csvs_and_version_folder(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    import gzip
    import shutil

    outer = tmp_path_factory.mktemp("mimic-cxr-jpg")
    version = outer / "2.0.0"
    shutil.copytree(root, version)
    for gz in version.glob("*.csv.gz"):
        (version / gz.name[:-3]).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    cases, _ = run_adapter(mimic.ADAPTER, outer)
    assert len(cases) == 4 and detect(outer) == "mimic"
    assert all(Path(c.image).is_relative_to(version) for c in cases)


def test_patient_disjoint_even_when_the_split_file_is_not(root: Path) -> None:
    write_csv(root / "mimic-cxr-2.0.0-split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"], [
        [D1, "50414267", "10000032", "train"], [D3, "53189527", "10000032", "test"]])
    cases, _ = run_adapter(mimic.ADAPTER, root)
    assert_patient_disjoint(cases)
    assert {c.split for c in cases if c.patient_id == "10000032"} == {"test"}


def test_without_split_file_splits_by_patient(root: Path) -> None:
    (root / "mimic-cxr-2.0.0-split.csv.gz").unlink()
    cases, _ = run_adapter(mimic.ADAPTER, root)
    assert_patient_disjoint(cases)


def test_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected mimic-cxr-2\.0\.0-metadata\.csv"):
        mimic.ADAPTER.iter_cases(tmp_path, lambda p: None)
