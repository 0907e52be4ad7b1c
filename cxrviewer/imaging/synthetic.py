"""Writing real DICOM files from arrays: for benchmarks, tests and (later) the synthetic demo.

Files are valid Part 10 DX/CR objects (file meta, explicit VR little endian) so that every
reader, ours and pydicom's, takes the same path as with a real radiograph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
# The synthetic demo films' mark (ImageComments and InstitutionName): a film that carries it is
# cxrviewer's phantom, the only kind of film the shipped demo model may read.
DEMO_MARK = "Synthetic demo data - not a real patient"
DEMO_INSTITUTION = "SYNTHETIC DEMO DATA"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@dataclass
class SyntheticStudy:
    """Identity shared by the images of one study (what a scanner would write)."""

    patient_name: str = "Teaching^Case"
    patient_id: str = "TC0001"
    patient_sex: str = "F"
    patient_age: str = "054Y"
    patient_birth_date: str = "19700101"
    study_date: str = "20240131"
    study_description: str = "CHEST PA AND LATERAL"
    accession_number: str = "ACC0001"
    institution: str = "Example Teaching Hospital"
    study_uid: str = field(default_factory=lambda: _uid())
    series_uid: str = field(default_factory=lambda: _uid())


def is_demo_mark(image_comments: str, institution: str) -> bool:
    """Whether a header carries the synthetic demo data's mark."""
    return image_comments.strip() == DEMO_MARK or institution.strip() == DEMO_INSTITUTION


def _uid() -> str:
    from pydicom.uid import generate_uid

    return generate_uid()


def chest_phantom(rows: int = 512, cols: int = 512, bits: int = 12, seed: int = 0) -> np.ndarray:
    """A quick chest-like test pattern (body, two lung fields, heart, noise) in ``bits`` bits.

    Values follow MONOCHROME2 (dense = bright). Not a realistic radiograph; that is the demo
    generator's job. Here it only has to look like a chest and exercise the full value range.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    y /= rows
    x /= cols
    top = 2**bits - 1
    image = np.full((rows, cols), 0.08, np.float32)
    body = ((x - 0.5) / 0.46) ** 2 + ((y - 0.55) / 0.55) ** 2 < 1
    image[body] = 0.75
    for cx in (0.31, 0.69):
        lung = ((x - cx) / 0.16) ** 2 + ((y - 0.45) / 0.3) ** 2 < 1
        image[lung] = 0.3
    heart = ((x - 0.56) / 0.14) ** 2 + ((y - 0.62) / 0.12) ** 2 < 1
    image[heart] = 0.8
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    return np.clip(image * top, 0, top).astype(np.uint16 if bits > 8 else np.uint8)


def write_dicom(
    path: str | Path,
    pixels: np.ndarray,
    *,
    study: SyntheticStudy | None = None,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    modality: str = "DX",
    view_position: str = "PA",
    instance_number: int = 1,
    series_number: int = 1,
    pixel_spacing: tuple[float, float] | None = None,
    imager_pixel_spacing: tuple[float, float] | None = None,
    window: tuple[float, float] | None = None,
    sop_instance_uid: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Path:
    """Write ``pixels`` (rows, cols) uint8/uint16 as an uncompressed DICOM file.

    ``extra`` sets further attributes by keyword (``{"ImageComments": "..."}``), last, so a
    caller can label files (the demo data's "not a real patient") without a new parameter each.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    study = study or SyntheticStudy()
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16, not {pixels.dtype}")
    bits_allocated = pixels.dtype.itemsize * 8
    sop_uid = sop_instance_uid or generate_uid()
    sop_class = DX_FOR_PRESENTATION if modality in ("DX", "CR") else SECONDARY_CAPTURE

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientSex = study.patient_sex
    ds.PatientAge = study.patient_age
    ds.PatientBirthDate = study.patient_birth_date
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = study.series_uid
    ds.StudyDate = study.study_date
    ds.StudyTime = "101500"
    ds.StudyDescription = study.study_description
    ds.AccessionNumber = study.accession_number
    ds.InstitutionName = study.institution
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.ViewPosition = view_position
    ds.BodyPartExamined = "CHEST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored or bits_allocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    if photometric == "MONOCHROME1":
        ds.PresentationLUTShape = "INVERSE"
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    if imager_pixel_spacing is not None:
        ds.ImagerPixelSpacing = list(imager_pixel_spacing)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    ds.PixelData = pixels.tobytes()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
