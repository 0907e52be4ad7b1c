"""Removing what identifies a patient from films and text before they leave the workstation.

DICOM: the attributes ``imaging.anonymise`` counts as identifying (a teaching subset of PS3.15's
basic profile), every person name, every date and time, and private tags are removed, or
emptied where the standard needs them present; UIDs are replaced by new ones, mapped the same
way for one mapping (``UidMap``), so a study's films stay one study and a presentation state
still points at its film. PNG/JPEG: the pixels are re-encoded, no metadata kept. Text: the
patient's name parts and IDs are replaced where they appear.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from cxrviewer.imaging.anonymise import is_identifying
from cxrviewer.imaging.synthetic import DEMO_MARK

ANONYMOUS_NAME = "ANONYMOUS^"
METHOD = "cxrviewer: identifying attributes removed, UIDs replaced"
# Type 2 attributes of the patient and study modules: kept, but empty
_KEEP_EMPTY = frozenset({"PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime",
                         "AccessionNumber", "ReferringPhysicianName", "StudyID"})
_STANDARD_UID_ROOT = "1.2.840.10008."  # DICOM's own UIDs (SOP classes, transfer syntaxes)


class UidMap:
    """Old UID -> new UID, the same answer for the same UID and salt (no table to keep)."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self._seen: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        from pydicom.uid import generate_uid

        uid = str(uid).strip()
        if not uid or uid.startswith(_STANDARD_UID_ROOT):
            return uid
        if uid not in self._seen:
            self._seen[uid] = str(generate_uid(entropy_srcs=[self.salt, uid]))
        return self._seen[uid]


def anonymise_dataset(ds: Any, uids: UidMap, patient_id: str) -> None:
    """Strip ``ds`` (a pydicom Dataset, changed in place) of what identifies the patient.

    ``patient_id`` becomes its Patient ID (a pseudonym naming nothing about the patient).
    """
    ds.remove_private_tags()
    _clean(ds, uids)
    if "file_meta" in ds.__dict__ or getattr(ds, "file_meta", None) is not None:
        meta = ds.file_meta
        if "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = uids(meta.MediaStorageSOPInstanceUID)
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                        "ReceivingApplicationEntityTitle"):
            if keyword in meta:
                delattr(meta, keyword)
    ds.PatientName = ANONYMOUS_NAME
    ds.PatientID = patient_id
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD


def _clean(ds: Any, uids: UidMap) -> None:
    for elem in list(ds):
        keyword = elem.keyword or ""
        if elem.VR == "SQ":
            if is_identifying(keyword, elem.VR):
                del ds[elem.tag]
                continue
            for item in elem.value:
                _clean(item, uids)
        elif elem.VR == "UI":
            if elem.value:
                values = elem.value if elem.VM > 1 else [elem.value]
                mapped = [uids(v) for v in values]
                elem.value = mapped if elem.VM > 1 else mapped[0]
        elif is_identifying(keyword, elem.VR) or elem.VR in ("DA", "DT", "TM"):
            if keyword in _KEEP_EMPTY:
                elem.value = ""
            else:
                del ds[elem.tag]
        elif keyword == "ImageComments" and str(elem.value).strip() != DEMO_MARK:
            del ds[elem.tag]  # free text; the demo films' "not a real patient" mark stays


def burned_in_annotation(ds: Any) -> bool:
    """Whether the header says the pixels carry burned-in text (which may identify)."""
    return str(getattr(ds, "BurnedInAnnotation", "")).strip().upper() == "YES"


def clean_raster(data: bytes) -> bytes:
    """A PNG/JPEG's pixels re-encoded as PNG with no metadata (text chunks, EXIF, ICC)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        converted = image if image.mode in ("L", "I;16", "RGB", "I") else image.convert("RGB")
        clean = Image.frombytes(converted.mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG")
    return out.getvalue()


class Redactor:
    """Replaces a patient's name parts (whole words) and IDs (anywhere, so an ID inside a case
    id such as ``PAT01_S1`` goes too) in text, longest first."""

    def __init__(self, names: Iterable[str] = (), ids: Iterable[str] = ()) -> None:
        self._targets: dict[str, tuple[str, str]] = {}  # text -> (regex, replacement)
        for name in names:
            for part in re.split(r"[\^=\s,]+", name or ""):
                if len(part) >= 2:
                    self._targets[part] = (r"(?<!\w)" + re.escape(part) + r"(?!\w)", "[name]")
        for value in ids:
            if value and len(value.strip()) >= 2:
                self._targets[value.strip()] = (re.escape(value.strip()), "[id]")

    def __call__(self, text: str) -> str:
        for value in sorted(self._targets, key=len, reverse=True):
            pattern, replacement = self._targets[value]
            text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
        return text

    def merged(self, other: Redactor) -> Redactor:
        out = Redactor()
        out._targets = {**self._targets, **other._targets}
        return out
