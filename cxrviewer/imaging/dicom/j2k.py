"""The JPEG 2000 guard: the codestream's own size, compared with the header before decoding.

A fuzzed SIZ marker once made a decoder allocate 826 M samples; reading the marker costs a few
microseconds and refuses such a file before any decoder sees it.
"""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset

from cxrviewer.imaging.dicom.geometry import MAX_SAMPLES
from cxrviewer.imaging.records import ImageHeader, ImageReadError

SYNTAXES = {
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
}

def first_bytes(ds: Dataset, size: int = 2048) -> bytes:
    """The start of the first frame's codestream (after the Basic Offset Table item)."""
    from pydicom.encaps import generate_fragments

    buf = b""
    for index, fragment in enumerate(generate_fragments(ds.PixelData)):
        if index == 0:  # the Basic Offset Table item
            continue
        buf += fragment
        if len(buf) >= size:
            break
    return buf


def codestream_size(ds: Dataset) -> tuple[int, int, int, int, bool] | None:
    """(width, height, components, precision, signed) from the first frame's SIZ marker."""
    buf = first_bytes(ds)
    start = buf.find(b"\xff\x4f\xff\x51")
    if start < 0 or len(buf) < start + 4 + 38 + 3:
        return None
    p = start + 4
    (_l, _r, xsiz, ysiz, xo, yo, _xt, _yt, _xto, _yto, comps) = struct.unpack(
        ">HHIIIIIIIIH", buf[p : p + 38]
    )
    ssiz = buf[p + 38]
    return xsiz - xo, ysiz - yo, comps, (ssiz & 0x7F) + 1, bool(ssiz & 0x80)


def check_j2k(path: str, ds: Dataset, header: ImageHeader) -> list[str]:
    """Compare the codestream with the header BEFORE decoding (a fuzzed SIZ once made a decoder
    allocate 826 M samples): refuse gross disagreement, warn on the recoverable kind."""
    try:
        siz = codestream_size(ds)
    except Exception:  # noqa: BLE001 - any damage to the codestream reads as "no readable SIZ"
        siz = None
    if siz is None:
        return ["JPEG 2000 codestream has no readable SIZ marker"]
    width, height, comps, precision, signed = siz
    if width * height > 4 * max(1, header.rows * header.columns) or comps > 4 or width * height > MAX_SAMPLES:
        raise ImageReadError(
            path,
            f"JPEG 2000 codestream is {width}x{height}x{comps} but the header says "
            f"{header.columns}x{header.rows}x{header.samples_per_pixel}: refused",
        )
    notes = []
    if (width, height) != (header.columns, header.rows):
        notes.append(
            f"JPEG 2000 codestream is {width}x{height}, header says {header.columns}x{header.rows}"
        )
    if signed != bool(header.pixel_representation):
        notes.append(
            f"JPEG 2000 codestream is {'signed' if signed else 'unsigned'} but PixelRepresentation "
            f"is {header.pixel_representation}: decoded as the header says"
        )
    if precision > header.bits_stored:
        notes.append(
            f"JPEG 2000 codestream has {precision}-bit samples, BitsStored is {header.bits_stored}"
        )
    return notes

