"""The image attributes a decode relies on, checked before any pixel is read.

Each impossible value gets its own reason (a damaged SamplesPerPixel is not "image too large"),
so a user told why a film cannot be shown can tell a damaged header from a huge image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cxrviewer.imaging.records import ImageHeader, ImageReadError

if TYPE_CHECKING:
    from cxrviewer.imaging.dicom.tags import Damage

MAX_SAMPLES = 1 << 28  # 268 M samples: far beyond any radiograph; refuse rather than allocate
_BITS_ALLOCATED = (1, 8, 16, 32, 64)
# What pixel_array reads: one of these damaged beyond reading means no pixels, with its reason.
_NEEDED = (
    0x00020010, 0x00280002, 0x00280004, 0x00280006, 0x00280008, 0x00280010, 0x00280011,
    0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x7FE00010,
)
_HEADER_DAMAGE = ("file ends early", "damaged")  # header warnings that explain missing attributes


def check_geometry(path: str, header: ImageHeader, astray: str | None = None) -> None:
    """Raise ImageReadError naming the first attribute that makes decoding impossible.

    ``astray`` says where a damaged header went wrong (:func:`tags.where_damaged`), added to
    the reason when image attributes are missing.
    """
    if header.is_report:
        raise ImageReadError(path, "a report/document (no image to show)")
    missing = [k for k, v in (("Rows", header.rows), ("Columns", header.columns),
                              ("BitsAllocated", header.bits_allocated)) if not v]
    if missing:
        why = next((w for w in header.warnings if w.startswith(_HEADER_DAMAGE)), "") or astray or _kind(header)
        raise ImageReadError(path, f"no image attributes ({', '.join(missing)} missing)" + (f"; {why}" if why else ""))
    spp, allocated, stored = header.samples_per_pixel, header.bits_allocated, header.bits_stored
    if spp not in (1, 3):
        raise ImageReadError(path, f"SamplesPerPixel is {spp}: an image has 1 (grey) or 3 (colour) samples per pixel")
    if allocated not in _BITS_ALLOCATED:
        raise ImageReadError(path, f"BitsAllocated is {allocated}: 1, 8, 16, 32 or 64 expected")
    if not stored:
        raise ImageReadError(path, "no BitsStored in the header (how many of each sample's bits are used)")
    if stored > allocated:
        raise ImageReadError(path, f"BitsStored ({stored}) is more than BitsAllocated ({allocated})")
    if header.pixel_representation not in (0, 1):
        raise ImageReadError(path, f"PixelRepresentation is {header.pixel_representation}: "
                                   "0 (unsigned) or 1 (signed) expected")
    if not header.photometric:
        raise ImageReadError(path, "no PhotometricInterpretation in the header (grey or colour unknown)")
    if header.frames < 1:
        raise ImageReadError(path, f"NumberOfFrames is {header.frames}")
    if header.rows * header.columns * header.frames * spp > MAX_SAMPLES:
        raise ImageReadError(path, f"image too large ({header.frames} x {header.rows} x {header.columns})")


def _kind(header: ImageHeader) -> str:
    """"it is an RT Plan Storage object": what the file says it is, when that is not an image."""
    from pydicom.uid import UID

    uid = header.sop_class_uid
    name = UID(uid).name if uid else ""
    return f"the file says it is {name!r}" if name and name != uid and "Image" not in name else ""


def check_damage(path: str, damage: Damage) -> None:
    """Raise ImageReadError when an element the decode needs was damaged beyond reading."""
    for tag in _NEEDED:
        # Pixel Data with a garbage VR was read with the wrong length form: never trust it.
        lost = damage.lost(tag, rescued_too=tag == 0x7FE00010)
        if lost is not None:
            raise ImageReadError(path, f"damaged {lost.name}: {lost.reason.split('; read as')[0]}")


# Attributes pydicom insists on that a header may leave out, and what their absence means.
_ASSUMED = (("PixelRepresentation", 0, "unsigned"), ("SamplesPerPixel", 1, "grey"))


def assumed(present: Callable[[str], bool]) -> tuple[dict[str, int], list[str]]:
    """Values for the attributes the header lacks (``present(keyword)`` is False), and the
    warnings that say so: such a film is decoded as the defaults say, not refused."""
    values = {keyword: value for keyword, value, _ in _ASSUMED if not present(keyword)}
    notes = [f"{keyword} missing: {value} ({meaning}) assumed"
             for keyword, value, meaning in _ASSUMED if keyword in values]
    return values, notes
