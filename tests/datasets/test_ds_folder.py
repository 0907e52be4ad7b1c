"""Any folder: DICOM grouped by header, PNG/JPEG by folder, reports from SR or text files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_trees import assert_patient_disjoint, run_adapter, write_image

from cxrviewer.datasets import folder
from cxrviewer.datasets.case import DatasetError
from cxrviewer.imaging.synthetic import SyntheticStudy, write_dicom

PIXELS = np.zeros((16, 12), np.uint16)


def _write_sr(path: Path, study: SyntheticStudy, findings: str) -> Path:
    """A minimal Basic Text SR of ``study`` with one FINDINGS container."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def code(meaning: str) -> Dataset:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "1", "99TEST", meaning
        return item

    text = Dataset()
    text.RelationshipType, text.ValueType, text.TextValue = "CONTAINS", "TEXT", findings
    text.ConceptNameCodeSequence = [code("Finding")]
    container = Dataset()
    container.RelationshipType, container.ValueType = "CONTAINS", "CONTAINER"
    container.ConceptNameCodeSequence = [code("Findings")]
    container.ContinuityOfContent = "SEPARATE"
    container.ContentSequence = [text]
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.ValueType = "SR", "CONTAINER"
    ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = study.patient_id, study.study_uid, generate_uid()
    ds.ConceptNameCodeSequence = [code("Chest X-ray report")]
    ds.ContentSequence = [container]
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    a = SyntheticStudy(patient_id="PA1", patient_sex="F", patient_age="054Y")
    write_dicom(tmp_path / "exportA" / "IM0001.dcm", PIXELS, study=a, view_position="PA")
    write_dicom(tmp_path / "exportA" / "IM0002.dcm", PIXELS, study=a, view_position="LL", instance_number=2)
    _write_sr(tmp_path / "exportA" / "SR0001.dcm", a, "Small left pleural effusion.")
    b = SyntheticStudy(patient_id="PB2", patient_sex="M", patient_age="081Y")
    write_dicom(tmp_path / "exportB" / "study" / "1.dcm", PIXELS, study=b, view_position="AP")
    (tmp_path / "exportB" / "study" / "report.txt").write_text("IMPRESSION: Large right pneumothorax.\n")
    write_image(tmp_path / "pngs" / "patient1" / "study1" / "view1_frontal.png")
    (tmp_path / "pngs" / "patient1" / "study1" / "view1_frontal.txt").write_text("No acute disease. No effusion.")
    write_image(tmp_path / "loose.jpg")
    (tmp_path / "broken.dcm").write_bytes(b"<html><body>not an image</body></html>")
    (tmp_path / "notes.txt").write_text("not a report of anything")
    return tmp_path


def test_cases_identity_and_reports(root: Path) -> None:
    cases, problems = run_adapter(folder.ADAPTER, root)
    by_id = {c.case_id: c for c in cases}
    assert sorted(by_id) == ["folder:exportA/IM0001.dcm", "folder:exportA/IM0002.dcm",
                             "folder:exportB/study/1.dcm", "folder:loose.jpg",
                             "folder:pngs/patient1/study1/view1_frontal.png"]
    first = by_id["folder:exportA/IM0001.dcm"]
    assert (first.patient_id, first.view, first.sex, first.age) == ("PA1", "PA", "F", 54.0)
    assert by_id["folder:exportA/IM0002.dcm"].view == "LATERAL"
    assert by_id["folder:exportA/IM0002.dcm"].study_id == first.study_id
    assert first.report.findings == "Small left pleural effusion."  # from the SR
    assert first.findings.get("Pleural Effusion") == "positive" and first.findings_source == "labeler"
    b = by_id["folder:exportB/study/1.dcm"]
    assert (b.patient_id, b.sex, b.age, b.view) == ("PB2", "M", 81.0, "AP")
    assert b.findings.get("Pneumothorax") == "positive"
    png = by_id["folder:pngs/patient1/study1/view1_frontal.png"]
    assert (png.patient_id, png.study_id) == ("pngs/patient1", "pngs/patient1/study1")
    assert png.findings.get("Pleural Effusion") == "negative"
    loose = by_id["folder:loose.jpg"]
    assert (loose.patient_id, loose.report.body, loose.findings, loose.findings_source) == ("loose", "", {}, "")
    assert [Path(p.path).name for p in problems] == ["broken.dcm"]
    assert all(Path(c.image).is_absolute() and Path(c.image).is_file() for c in cases)


def test_patient_disjoint(tmp_path: Path) -> None:
    for n in range(30):
        study = SyntheticStudy(patient_id=f"P{n}")
        for view in ("PA", "LATERAL"):
            write_dicom(tmp_path / f"P{n}" / f"{view}.dcm", PIXELS, study=study, view_position=view)
    cases, _ = run_adapter(folder.ADAPTER, tmp_path)
    assert len(cases) == 60 and len({c.split for c in cases}) > 1
    assert_patient_disjoint(cases)


def test_not_a_folder_or_no_images(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected DICOM, PNG or JPEG files"):
        folder.ADAPTER.iter_cases(tmp_path / "missing", lambda p: None)
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no readable image files"):
        list(folder.ADAPTER.iter_cases(tmp_path, lambda p: None))


@pytest.mark.needs_shared
def test_real_dicom_with_unitless_age(shared_data: Path, tmp_path: Path) -> None:
    """NIH's DICOM export writes PatientAge "81" (no unit): read as 81 years, never a problem."""
    import shutil

    shutil.copy(shared_data / "dicom" / "chest" / "nih_dx_mono2.dcm", tmp_path / "nih_dx_mono2.dcm")
    cases, problems = run_adapter(folder.ADAPTER, tmp_path)
    assert not problems and len(cases) == 1
    assert cases[0].age == 81.0
