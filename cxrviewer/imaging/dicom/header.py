"""Reading a DICOM file's dataset and its header: what a scan lists and a decode relies on.

Header-only reads stop at the pixel data (0.3-0.5 ms a file); pydicom's warnings are collected as
notes; every failure is an ``ImageReadError`` with a reason a radiologist can act on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import UID

import cxrviewer.imaging.dicom.syntax as syntax
from cxrviewer.imaging import sniffing
from cxrviewer.imaging.dicom.errors import (
    element_name,
    element_reason,
    only_image_read_errors,
    read_reason,
)
from cxrviewer.imaging.dicom.errors import short as _short
from cxrviewer.imaging.dicom.tags import value_of
from cxrviewer.imaging.generated import is_generated_mark
from cxrviewer.imaging.records import ImageHeader, ImageReadError
from cxrviewer.imaging.synthetic import is_demo_mark

__all__ = ["DICOMDIR_REASON", "is_report_sop", "read_header"]
log = logging.getLogger(__name__)

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
DICOMDIR_REASON = "DICOMDIR (index of the folder, not an image)"
_REPORT_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.88.", "1.2.840.10008.5.1.4.1.1.104.")
_REPORT_MODALITIES = {"SR", "DOC", "KO", "PR"}
# pydicom's value-validation chatter (e.g. over-long UIDs in anonymised files) is not worth
# showing the user; everything else pydicom warns about while reading is.
_NOISE = ("Invalid value for VR", "The value length", "VR lookup failed")

_capture_lock = threading.Lock()


@contextlib.contextmanager
def captured_warnings() -> Iterator[list[str]]:
    """Collect pydicom's warnings as messages; serialised because warning filters are global."""
    messages: list[str] = []
    with _capture_lock, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
        for item in caught:
            text = str(item.message)
            if not text.startswith(_NOISE) and text not in messages:
                messages.append(text)


# --------------------------------------------------------------------------- reading datasets


def _stop_at_pixels(tag: Any, vr: Any, length: int) -> bool:
    return 0x7FE00008 <= int(tag) <= 0x7FE00010


def _read_raw(path: str, raw: sniffing.RawDicom, header_only: bool) -> Dataset:
    """Read a dataset that has no preamble/file meta, in the encoding sniffed from its bytes.

    pydicom's ``force=True`` assumes little endian and misreads big-endian files such as
    no_meta.dcm, so the encoding is chosen here from the first element.
    """
    from pydicom.filereader import read_dataset

    with open(path, "rb") as fp:
        fp.seek(raw.offset)
        ds = read_dataset(
            fp, raw.implicit_vr, raw.little_endian,
            stop_when=_stop_at_pixels if header_only else None,
        )
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(raw.transfer_syntax)
    ds.set_original_encoding(raw.implicit_vr, raw.little_endian)
    return ds


def read_dataset(path: str, kind: sniffing.Sniffed, header_only: bool) -> tuple[Dataset, list[str]]:
    """The dataset and the warnings a user should see about how it was read."""
    notes: list[str] = []
    with captured_warnings() as caught:
        try:
            if isinstance(kind, sniffing.RawDicom):
                ds = _read_raw(path, kind, header_only)
                stray = f"; {kind.offset} stray byte(s) at the start skipped" if kind.offset else ""
                notes.append(
                    f"no DICOM file meta (no preamble/'DICM'){stray}: read as "
                    f"{UID(kind.transfer_syntax).name}"
                )
            else:
                ds = pydicom.dcmread(path, stop_before_pixels=header_only)
        except Exception as exc:  # every kind of damage gets its own reason
            raise ImageReadError(path, read_reason(exc)) from exc
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        implicit, little = _encoding(ds)
        ts = _syntax_for(implicit, little)
        if meta is None:
            ds.file_meta = meta = FileMetaDataset()
        meta.TransferSyntaxUID = ts
        notes.append(f"file meta has no Transfer Syntax UID: read as {UID(ts).name}")
    value = value_of(meta, "TransferSyntaxUID")
    sequence = isinstance(value, (Dataset, Sequence))  # its VR was damaged into SQ
    ts = "" if sequence else str(value or "")
    why = "is damaged (its VR says SQ)" if sequence else syntax.problem(ts)
    if why is not None:  # a damaged UID: the bytes were read in some encoding all the same
        replacement = _syntax_for(*_encoding(ds))
        meta[0x00020010] = DataElement(0x00020010, "UI", replacement)  # whatever VR the damaged one had
        notes.append(f"{syntax.REPLACED}{f'{ts[:64]!r} ' if ts else ''}{why}: read as {UID(replacement).name}")
    for text in caught:
        if "End of file reached" in text:
            notes.append("file ends early: " + text.split(" in file")[0])
        else:
            notes.append(text)
    return ds, notes


def _encoding(ds: Dataset) -> tuple[bool, bool]:
    implicit, little = getattr(ds, "original_encoding", (True, True))
    return (True if implicit is None else bool(implicit)), (True if little is None else bool(little))


def _syntax_for(implicit: bool, little: bool) -> str:
    if implicit:
        return pydicom.uid.ImplicitVRLittleEndian
    return pydicom.uid.ExplicitVRLittleEndian if little else pydicom.uid.ExplicitVRBigEndian


# --------------------------------------------------------------------------- header values


def _text(ds: Dataset, keyword: str) -> str:
    """A text attribute; "" when absent or damaged (a value pydicom cannot convert, or a
    sequence where text belongs): the file is shown without it rather than failed."""
    try:
        value = value_of(ds, keyword)
        if value is None or isinstance(value, (Dataset, Sequence)):
            return ""
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            return "\\".join(str(v) for v in value)
        return str(value).strip()
    except Exception:  # noqa: BLE001 - see above
        return ""


def _int(path: str, ds: Dataset, keyword: str, default: int | None) -> int | None:
    """An integer attribute; a malformed one is an error naming the attribute and the value."""
    tag = Tag(keyword)
    try:
        value = value_of(ds, keyword)
    except Exception as exc:  # damaged beyond reading
        raise ImageReadError(path, f"damaged {element_name(tag.group, tag.element)}: {element_reason(exc)}") from exc
    if isinstance(value, (Dataset, Sequence)):  # a damaged VR read it as a sequence
        raise ImageReadError(path, f"damaged {element_name(tag.group, tag.element)}: a sequence where a number belongs")
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        vr = ds[keyword].VR
        raise ImageReadError(path, f"invalid {keyword} value {_short(str(value), 60)!r} "
                                   f"(VR {vr}: not an integer)") from None


def is_report_sop(sop_class_uid: str, modality: str) -> bool:
    """SR, encapsulated documents, key objects and presentation states: not images."""
    return sop_class_uid.startswith(_REPORT_SOP_PREFIXES) or modality in _REPORT_MODALITIES


def header_of(path: str, ds: Dataset, notes: list[str]) -> ImageHeader:
    meta = ds.file_meta
    sop_class = _text(ds, "SOPClassUID") or _text(meta, "MediaStorageSOPClassUID")
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise ImageReadError(path, DICOMDIR_REASON)
    ts = _text(meta, "TransferSyntaxUID")
    modality = _text(ds, "Modality")
    age = _text(ds, "PatientAge")
    warn = list(notes)
    if age and not re.fullmatch(r"\d{1,3}\s*[DWMYdwmy]", age):
        warn.append(f"PatientAge {age!r} has no unit (DICOM writes '081Y'): shown as written")
    return ImageHeader(
        path=path,
        kind="dicom",
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        patient_sex=_text(ds, "PatientSex"),
        patient_age=age,
        patient_birth_date=_text(ds, "PatientBirthDate"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        accession_number=_text(ds, "AccessionNumber"),
        institution=_text(ds, "InstitutionName"),
        referring_physician=_text(ds, "ReferringPhysicianName"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        series_number=_int(path, ds, "SeriesNumber", None),
        series_description=_text(ds, "SeriesDescription"),
        modality=modality,
        sop_class_uid=sop_class,
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        instance_number=_int(path, ds, "InstanceNumber", None),
        rows=_int(path, ds, "Rows", 0) or 0,
        columns=_int(path, ds, "Columns", 0) or 0,
        frames=_int(path, ds, "NumberOfFrames", 1) or 1,
        samples_per_pixel=_int(path, ds, "SamplesPerPixel", 1) or 1,
        bits_allocated=_int(path, ds, "BitsAllocated", 0) or 0,
        bits_stored=_int(path, ds, "BitsStored", 0) or 0,
        pixel_representation=_int(path, ds, "PixelRepresentation", 0) or 0,
        photometric=_text(ds, "PhotometricInterpretation"),
        transfer_syntax_uid=ts,
        transfer_syntax_name=UID(ts).name if ts else "",
        view_position=_text(ds, "ViewPosition"),
        body_part=_text(ds, "BodyPartExamined"),
        laterality=_text(ds, "ImageLaterality") or _text(ds, "Laterality"),
        file_size=_file_size(path),
        is_report=is_report_sop(sop_class, modality),
        synthetic_demo=is_demo_mark(_text(ds, "ImageComments"), _text(ds, "InstitutionName")),
        generated=is_generated_mark(_text(ds, "ImageComments"), _text(ds, "DerivationDescription")),
        warnings=tuple(warn),
    )


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_header(path: str | os.PathLike[str]) -> ImageHeader:
    """Header-only read (no pixel data) of a DICOM, PNG or JPEG file, for scanning folders.

    Raises
    ------
    ImageReadError
        With a specific reason: empty file, not DICOM (what it looks like), a DICOMDIR,
        malformed values; a failure nobody foresaw reads "unexpected error (...)".
    """
    path = os.fspath(path)
    with only_image_read_errors(path, "reading the header of"):
        kind = sniffing.sniff(path)
        if kind in ("png", "jpeg"):
            from cxrviewer.imaging import raster

            return raster.read_header(path, kind)
        ds, notes = read_dataset(path, kind, header_only=True)
        return header_of(path, ds, notes)
