"""Open-i / IU: NLM's XML reports with PNG/DICOM images, and Kaggle's two CSVs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from dataset_trees import assert_patient_disjoint, run_adapter, write_csv, write_image

from cxrviewer.datasets import openi
from cxrviewer.datasets.case import DatasetError
from cxrviewer.datasets.registry import detect

XML = """<?xml version="1.0" encoding="utf-8"?>
<eCitation>
   <meta type="rr"/>
   <uId id="CXR{uid}"/>
   <pmcId id="{uid}"/>
   <docSource>CXR</docSource>
   <IUXRId id="{uid}"/>
   <MedlineCitation Owner="Indiana University" Status="supplied by publisher">
      <Article PubModel="Electronic">
         <ArticleTitle>Indiana University Chest X-ray Collection</ArticleTitle>
         <Abstract>
            <AbstractText Label="COMPARISON">None.</AbstractText>
            <AbstractText Label="INDICATION">Positive TB test</AbstractText>
            <AbstractText Label="FINDINGS">{findings}</AbstractText>
            <AbstractText Label="IMPRESSION">{impression}</AbstractText>
         </Abstract>
      </Article>
   </MedlineCitation>
   <MeSH><major>normal</major></MeSH>
{images}
</eCitation>
"""
IMAGE = """   <parentImage id="{id}">
      <figureId>F1</figureId>
      <caption>Xray Chest PA and Lateral</caption>
      <panel type="single"><url>/hadoop/storage/radiology/extract/{id}.jpg</url></panel>
   </parentImage>"""


def _xml(path: Path, uid: str, ids: list[str], findings: str, impression: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    images = "\n".join(IMAGE.format(id=i) for i in ids)
    path.write_text(XML.format(uid=uid, findings=findings, impression=impression, images=images), encoding="utf-8")


@pytest.fixture
def nlm(tmp_path: Path) -> Path:
    """NLM's download: ecgen-radiology/ beside NLMCXR_png/ (and some studies only as DICOM)."""
    from cxrviewer.imaging.synthetic import write_dicom

    _xml(tmp_path / "ecgen-radiology" / "1.xml", "1", ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001"],
         "The cardiac silhouette is within normal limits. There is no pleural effusion.", "Normal chest x-XXXX.")
    _xml(tmp_path / "ecgen-radiology" / "10.xml", "10", ["CXR10_IM-0002-1001"],
         "Large right pneumothorax.", "Right pneumothorax.")
    _xml(tmp_path / "ecgen-radiology" / "11.xml", "11", ["CXR11_IM-0067-1001"], "Clear lungs.", "Normal.")
    write_image(tmp_path / "NLMCXR_png" / "CXR1_1_IM-0001-3001.png")
    write_image(tmp_path / "NLMCXR_png" / "CXR1_1_IM-0001-4001.png")
    write_dicom(tmp_path / "NLMCXR_dcm" / "10_IM-0002-1001.dcm", np.zeros((8, 8), np.uint16))
    return tmp_path


def test_nlm_xml_layout(nlm: Path) -> None:
    cases, problems = run_adapter(openi.ADAPTER, nlm)
    assert [c.case_id for c in cases] == ["openi:1_IM-0001-3001", "openi:1_IM-0001-4001", "openi:10_IM-0002-1001"]
    first = cases[0]
    assert (first.patient_id, first.study_id, first.view) == ("1", "1", "")
    assert first.report.indication == "Positive TB test" and first.report.impression == "Normal chest x-XXXX."
    assert first.findings.get("Pleural Effusion") == "negative" and first.findings_source == "labeler"
    assert cases[2].image.endswith("10_IM-0002-1001.dcm")
    assert cases[2].findings.get("Pneumothorax") == "positive"
    assert [(Path(p.path).name, p.reason) for p in problems] == [("CXR11_IM-0067-1001.png", "image file not found")]
    assert detect(nlm) == "openi"


def test_projection_csv_beside_the_xml_gives_views(nlm: Path) -> None:
    write_csv(nlm / "indiana_projections.csv", ["uid", "filename", "projection"],
              [[1, "1_IM-0001-4001.dcm.png", "Frontal"], [1, "1_IM-0001-3001.dcm.png", "Lateral"]])
    cases, _ = run_adapter(openi.ADAPTER, nlm)
    assert {c.case_id: c.view for c in cases} == {
        "openi:1_IM-0001-3001": "LATERAL", "openi:1_IM-0001-4001": "PA", "openi:10_IM-0002-1001": ""}


def test_prefers_png_over_dicom(nlm: Path) -> None:
    write_image(nlm / "NLMCXR_png" / "CXR10_IM-0002-1001.png")
    cases, _ = run_adapter(openi.ADAPTER, nlm)
    assert cases[2].image.endswith("CXR10_IM-0002-1001.png")


def test_xml_files_directly_in_root(nlm: Path) -> None:
    for xml in (nlm / "ecgen-radiology").glob("*.xml"):
        shutil.move(xml, nlm / xml.name)
    (nlm / "ecgen-radiology").rmdir()
    cases, _ = run_adapter(openi.ADAPTER, nlm)
    assert len(cases) == 3


def test_kaggle_csv_layout_small(tmp_path: Path) -> None:
    write_csv(tmp_path / "indiana_reports.csv",
              ["uid", "MeSH", "Problems", "image", "indication", "comparison", "findings", "impression"],
              [[1, "normal", "normal", "Xray Chest PA and Lateral", "Positive TB test", "None.",
                "There is no pneumothorax.", "Normal chest x-XXXX."],
               [2, "Cardiomegaly", "Cardiomegaly", "Chest, 2 views", "Preop.", "None.",
                "Borderline cardiomegaly.", "No acute pulmonary findings."]])
    write_csv(tmp_path / "indiana_projections.csv", ["uid", "filename", "projection"],
              [[1, "1_IM-0001-4001.dcm.png", "Frontal"], [1, "1_IM-0001-3001.dcm.png", "Lateral"],
               [2, "2_IM-0652-1001.dcm.png", "Oblique"], [2, "2_IM-0652-2001.dcm.png", "Frontal"]])
    write_image(tmp_path / "images" / "images_normalized" / "1_IM-0001-4001.dcm.png")
    write_image(tmp_path / "images" / "images_normalized" / "1_IM-0001-3001.dcm.png")
    cases, problems = run_adapter(openi.ADAPTER, tmp_path)
    assert [(c.case_id, c.view, c.patient_id) for c in cases] == [
        ("openi:1_IM-0001-4001", "PA", "1"), ("openi:1_IM-0001-3001", "LATERAL", "1")]
    assert cases[0].findings.get("Pneumothorax") == "negative"
    assert [(p.line, Path(p.path).name) for p in problems] == [
        (4, "indiana_projections.csv"), (None, "2_IM-0652-2001.dcm.png")]
    assert detect(tmp_path) == "openi"


@pytest.mark.needs_shared
def test_kaggle_csv_layout_real_files(shared_data: Path, tmp_path: Path) -> None:
    """The real 3,851 reports and 7,466 projections parse; only images we did not make are missing."""
    for name in ("indiana_reports.csv", "indiana_projections.csv"):
        shutil.copy(shared_data / "reports" / "iu" / name, tmp_path / name)
    made = ["1_IM-0001-4001.dcm.png", "1_IM-0001-3001.dcm.png", "2_IM-0652-1001.dcm.png", "536_IM-2143-1001.dcm.png"]
    for name in made:
        write_image(tmp_path / "images" / "images_normalized" / name)
    cases, problems = run_adapter(openi.ADAPTER, tmp_path)
    assert sorted(c.image for c in cases) == sorted(str(tmp_path / "images" / "images_normalized" / n) for n in made)
    assert len(problems) == 7466 - len(made)
    assert all(p.reason == "image file not found" for p in problems)
    by_id = {c.case_id: c for c in cases}
    first = by_id["openi:1_IM-0001-4001"]
    assert first.view == "PA" and first.report.indication == "Positive TB test"
    assert first.report.impression == "Normal chest x-XXXX."
    assert first.findings.get("Pleural Effusion") == "negative"
    assert by_id["openi:2_IM-0652-1001"].findings.get("Cardiomegaly") in ("positive", "uncertain")
    assert_patient_disjoint(cases)


def test_patient_disjoint_many_studies(tmp_path: Path) -> None:
    rows, projections = [], []
    for uid in range(1, 61):
        rows.append([uid, "normal", "normal", "", "", "", "Clear lungs.", "Normal."])
        for n, view in ((1, "Frontal"), (2, "Lateral")):
            name = f"{uid}_IM-0001-{n}001.dcm.png"
            projections.append([uid, name, view])
            write_image(tmp_path / "images" / name)
    write_csv(tmp_path / "indiana_reports.csv",
              ["uid", "MeSH", "Problems", "image", "indication", "comparison", "findings", "impression"], rows)
    write_csv(tmp_path / "indiana_projections.csv", ["uid", "filename", "projection"], projections)
    cases, problems = run_adapter(openi.ADAPTER, tmp_path)
    assert len(cases) == 120 and not problems
    assert {c.split for c in cases} == {"train", "valid", "test"}
    assert_patient_disjoint(cases)


def test_wrong_root(tmp_path: Path) -> None:
    (tmp_path / "notes.xml").write_text("<html/>")
    with pytest.raises(DatasetError, match="expected ecgen-radiology"):
        openi.ADAPTER.iter_cases(tmp_path, lambda p: None)
