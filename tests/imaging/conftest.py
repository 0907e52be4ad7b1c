"""Synthetic images for the imaging tests, written with pydicom/Pillow into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    patient: str = "Doe^Jane",
    patient_id: str = "P1",
    study_uid: str | None = None,
    series_uid: str | None = None,
    instance: int = 1,
    modality: str = "DX",
    **attrs: Any,
) -> Path:
    """A minimal, valid Explicit VR Little Endian image file (1 or more frames)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray for Presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = patient
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.InstanceNumber = instance
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    frames = pixels if pixels.ndim == 3 else pixels[np.newaxis]
    if frames.shape[0] > 1:
        ds.NumberOfFrames = frames.shape[0]
    ds.Rows, ds.Columns = frames.shape[1:3]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def make_dicom(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(pixels: np.ndarray | None = None, name: str | None = None, **kwargs: Any) -> Path:
        if pixels is None:
            pixels = np.random.default_rng(0).integers(0, 4096, (64, 48), dtype=np.uint16)
        path = tmp_path / (name or f"img{next(counter)}.dcm")
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_dicom(path, pixels, **kwargs)

    return make


@pytest.fixture
def ramp16() -> np.ndarray:
    """A 12-bit gradient: every value range is represented, unlike random noise's extremes."""
    return (np.arange(64 * 48, dtype=np.int64).reshape(64, 48) * 4095 // (64 * 48 - 1)).astype(np.uint16)
