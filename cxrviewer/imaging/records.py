"""Plain, immutable records that cross threads (worker -> GUI) and go into ``info --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # records are imported by the GUI at start-up; numpy loads later, in the worker
    import numpy as np

Severity = Literal["error", "warning"]
ImageKind = Literal["dicom", "png", "jpeg"]


class ImageReadError(Exception):
    """A file that cannot be shown. ``reason`` is short, specific and meant for the user.

    Examples: "empty file (0 bytes)", "not a DICOM file (looks like an HTML page)",
    "truncated pixel data: 8,192 of 32,768 bytes", "unsupported transfer syntax: ...".
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):  # picklable, so it crosses from the decoding process intact
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class FileIssue:
    """A file skipped during a scan (error), or used with a caveat (warning)."""

    path: str
    reason: str
    severity: Severity = "error"


@dataclass(frozen=True)
class ImageHeader:
    """What a header-only read tells: enough to group, list and summarise without pixels."""

    path: str
    kind: ImageKind
    patient_id: str = ""
    patient_name: str = ""
    patient_sex: str = ""
    patient_age: str = ""
    patient_birth_date: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    institution: str = ""
    referring_physician: str = ""
    series_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    modality: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    instance_number: int | None = None
    rows: int = 0
    columns: int = 0
    frames: int = 1
    samples_per_pixel: int = 1
    bits_allocated: int = 0
    bits_stored: int = 0
    pixel_representation: int = 0
    photometric: str = ""
    transfer_syntax_uid: str = ""
    transfer_syntax_name: str = ""
    view_position: str = ""
    body_part: str = ""
    laterality: str = ""
    file_size: int = 0
    is_report: bool = False  # a DICOM SR / encapsulated document: a report, not an image
    synthetic_demo: bool = False  # carries the synthetic demo data's mark (not a patient's film)
    generated: bool = False  # made by cxrviewer synthesis from a text (imaging.generated): never a patient's film
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PixelSpacing:
    """mm per pixel along rows and columns, and which attribute said so."""

    row_mm: float
    column_mm: float
    source: Literal["PixelSpacing", "ImagerPixelSpacing"]
    note: str = ""  # e.g. "at the detector, not corrected for magnification"


@dataclass(frozen=True)
class Window:
    """A VOI window in modality units (DICOM C.11.2.1.2)."""

    center: float
    width: float
    function: Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"] = "LINEAR"


@dataclass(frozen=True)
class VoiPreset:
    """A named way to display the image: a window, or a VOI LUT from the file."""

    name: str
    window: Window | None = None
    lut_first_mapped: float = 0.0  # VOI LUT: first input value mapped, modality units
    lut: np.ndarray | None = field(default=None, compare=False)  # VOI LUT output values
    source: Literal["file", "standard", "auto", "user"] = "standard"


@dataclass(frozen=True)
class DisplayMapping:
    """What pyqtgraph's ImageItem needs: levels in display units and a uint8 LUT (<= 4096)."""

    levels: tuple[float, float]
    lut: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TagNode:
    """One DICOM element for the tag browser; sequences carry their items as children."""

    tag: str  # "(0010,0010)"
    keyword: str
    vr: str
    value: str  # printable, truncated
    identifying: bool = False
    children: tuple[TagNode, ...] = ()
    damaged: str = ""  # why the element could not be read as written ("" when it could)
