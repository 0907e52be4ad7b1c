"""Orientation, measurement, anonymisation, SR text, report lookup and thumbnails."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.imaging import load_image, read_header
from cxrviewer.imaging.anonymise import is_identifying, masked_header, redact_text
from cxrviewer.imaging.measure import cardiothoracic_ratio, length, spacing_of
from cxrviewer.imaging.orientation import Orientation
from cxrviewer.imaging.records import PixelSpacing
from cxrviewer.imaging.sr import sr_text
from cxrviewer.imaging.study import find_report
from cxrviewer.imaging.thumbnails import thumbnail

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")
COMBOS = list(itertools.product((0, 90, 180, 270), (False, True), (False, True)))


@pytest.mark.parametrize("rotation, flip_h, flip_v", COMBOS)
def test_orientation_round_trips(rotation: int, flip_h: bool, flip_v: bool) -> None:
    source = np.arange(5 * 7).reshape(5, 7)
    o = Orientation(rotation, flip_h, flip_v)
    shown = o.apply(source)
    assert shown.flags.c_contiguous and shown.shape == o.displayed_shape(source.shape)
    for r, c in itertools.product(range(shown.shape[0]), range(shown.shape[1])):
        assert source[o.to_source(r, c, source.shape)] == shown[r, c]
    assert np.array_equal(o.flipped_h().apply(source), shown[:, ::-1])
    assert np.array_equal(o.flipped_v().apply(source), shown[::-1])
    assert np.array_equal(o.rotated(90).apply(source), np.rot90(shown, -1))
    assert np.array_equal(o.rotated(-90).apply(source), np.rot90(shown, 1))
    rgb = np.dstack([source] * 3)
    assert o.apply(rgb).shape[:2] == shown.shape


def test_spacing_rules() -> None:
    spacing, note = spacing_of({"PixelSpacing": [0.2, 0.3], "ImagerPixelSpacing": [0.1, 0.1]})
    assert spacing == PixelSpacing(0.2, 0.3, "PixelSpacing") and note == ""
    spacing, note = spacing_of({"ImagerPixelSpacing": [0.15, 0.15]})
    assert spacing.source == "ImagerPixelSpacing" and "not corrected for magnification" in spacing.note
    assert spacing_of({"PixelSpacing": [0, 0]}) == (None, "PixelSpacing is 0: no calibrated measurement")
    spacing, note = spacing_of({"PixelSpacing": [0, 0], "ImagerPixelSpacing": [0.1, 0.1]})
    assert spacing.source == "ImagerPixelSpacing" and "PixelSpacing is 0" in note
    assert spacing_of({})[0] is None
    assert spacing_of({"PixelSpacing": [-1, 1]})[1] == "PixelSpacing is not positive: no calibrated measurement"


def test_length_and_ctr() -> None:
    assert length((0, 0), (3, 4), None) == (5.0, "px", "uncalibrated (pixels)")
    value, unit, source = length((0, 0), (10, 0), PixelSpacing(0.5, 0.2, "PixelSpacing"))
    assert (value, unit, source) == (5.0, "mm", "PixelSpacing")
    assert cardiothoracic_ratio(120, 240) == 0.5
    assert math.isnan(cardiothoracic_ratio(120, 0))


def test_anonymisation(dicom_dir: Path) -> None:
    assert is_identifying("PatientName", "PN") and is_identifying("OperatorsName", "PN")
    assert is_identifying("AccessionNumber", "SH") and is_identifying("StudyDate", "DA")
    assert not is_identifying("PatientSex", "CS") and not is_identifying("Rows", "US")
    header = read_header(dicom_dir / "codecs/693_UNCI.dcm")
    masked = masked_header(header, 3)
    assert masked.patient_name == "Patient 3" and masked.patient_id == "" and masked.study_date == ""
    assert (masked.patient_sex, masked.patient_age, masked.modality) == (
        header.patient_sex, header.patient_age, header.modality)
    from dataclasses import replace

    h = replace(header, patient_name="Smith^John", patient_id="MRN123", accession_number="ACC9")
    text = "Mr John Smith (MRN123, acc ACC9): no change. Smithson is the radiologist."
    assert redact_text(text, h) == "Mr [name] [name] ([id], acc [id]): no change. Smithson is the radiologist."


def _make_sr(path: Path) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def code(meaning: str) -> Dataset:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "1", "99TEST", meaning
        return item

    def text(value: str) -> Dataset:
        item = Dataset()
        item.RelationshipType, item.ValueType, item.TextValue = "CONTAINS", "TEXT", value
        item.ConceptNameCodeSequence = [code("Finding")]
        return item

    def section(name: str, *children: Dataset) -> Dataset:
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "CONTAINER"
        item.ConceptNameCodeSequence = [code(name)]
        item.ContinuityOfContent = "SEPARATE"
        item.ContentSequence = list(children)
        return item

    num = Dataset()
    num.RelationshipType, num.ValueType = "CONTAINS", "NUM"
    num.ConceptNameCodeSequence = [code("Cardiothoracic ratio")]
    measured = Dataset()
    measured.NumericValue = "0.48"
    measured.MeasurementUnitsCodeSequence = [code("ratio")]
    measured.MeasurementUnitsCodeSequence[0].CodeValue = "{ratio}"
    num.MeasuredValueSequence = [measured]
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.ValueType = "SR", "CONTAINER"
    ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = "P1", generate_uid(), generate_uid()
    ds.ConceptNameCodeSequence = [code("Chest X-ray report")]
    ds.ContentSequence = [
        section("Findings", text("Lungs are clear.\r\nNo effusion."), num),
        section("Impression", text("Normal chest.")),
    ]
    ds.save_as(path, enforce_file_format=True)
    return path


def test_sr_text(tmp_path: Path) -> None:
    path = _make_sr(tmp_path / "sr.dcm")
    assert sr_text(path) == (
        "FINDINGS:\nLungs are clear.\nNo effusion.\nCardiothoracic ratio: 0.48 {ratio}\n\n"
        "IMPRESSION:\nNormal chest."
    )
    assert read_header(path).is_report
    from pydicom.data import get_testdata_file

    assert "Sample Text" in sr_text(get_testdata_file("test-SR.dcm"))


def test_find_report_order(tmp_path: Path, make_dicom) -> None:
    image = make_dicom(name="s/img.dcm")
    assert find_report([str(image)], []) is None
    (tmp_path / "s" / "img.txt").write_bytes(b"Beside the image \xff.")
    found = find_report([str(image)], [])
    assert found.source_kind == "text" and found.text == "Beside the image \ufffd."
    (tmp_path / "s" / "REPORT.TXT").write_text("Study report.")
    assert find_report([str(image)], []).text == "Study report."
    sr = _make_sr(tmp_path / "s" / "sr.dcm")
    found = find_report([str(image)], [str(sr)])
    assert found.source_kind == "sr" and found.source_path == str(sr)


def test_thumbnails(dicom_dir: Path, make_dicom, ramp16) -> None:
    thumb = thumbnail(load_image(dicom_dir / "chest/RG1_J2KI.dcm"), size=128)
    assert thumb.dtype == np.uint8 and max(thumb.shape) == 128 and thumb.ndim == 2
    colour = thumbnail(load_image(dicom_dir / "codecs/OBXXXX1A_rle.dcm"), size=64)
    assert colour.shape == (48, 64, 3)
    normal = thumbnail(load_image(make_dicom(ramp16)), size=32).astype(int)
    inverted = thumbnail(load_image(make_dicom(ramp16, photometric="MONOCHROME1")), size=32).astype(int)
    assert np.abs(normal + inverted - 255).max() <= 3
    frames = thumbnail(load_image(dicom_dir / "codecs/emri_small_RLE.dcm"), size=32, frame=9)
    assert frames.shape == (32, 32)
