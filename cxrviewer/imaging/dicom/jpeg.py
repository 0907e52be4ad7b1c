"""The JPEG and JPEG-LS guard: the frame header's size, compared with the DICOM header first.

A header damaged after the codestream was written (Rows 65535 over a 100-line frame) made the
decoders fail with numpy's "could not broadcast input array from shape (450,) into shape
(655350,)", or made GDCM abort its process. Reading the start-of-frame marker costs microseconds
and gives the reason in the terms of the file.
"""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset

from cxrviewer.imaging.dicom.j2k import first_bytes
from cxrviewer.imaging.records import ImageHeader, ImageReadError

SYNTAXES = {
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
}
# Start-of-frame markers: SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC); SOF55 is JPEG-LS.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
_NO_LENGTH = {0x01, *range(0xD0, 0xD9)}  # TEM, RSTn, SOI, EOI: markers without a segment


def frame_size(buf: bytes) -> tuple[int, int, int] | None:
    """(width, height, components) from the first start-of-frame segment, walking the markers
    from SOI; None when there is none in ``buf``."""
    if not buf.startswith(b"\xff\xd8"):
        return None
    p = 2
    while p + 4 <= len(buf):
        if buf[p] != 0xFF:
            return None
        marker = buf[p + 1]
        if marker == 0xFF:  # fill byte
            p += 1
            continue
        if marker in _NO_LENGTH:
            p += 2
            continue
        (length,) = struct.unpack_from(">H", buf, p + 2)
        if marker in _SOF:
            if p + 10 > len(buf):
                return None
            height, width = struct.unpack_from(">HH", buf, p + 5)
            return width, height, buf[p + 9]
        if marker == 0xDA:  # start of scan before any frame header
            return None
        p += 2 + length
    return None


def check_jpeg(path: str, ds: Dataset, header: ImageHeader) -> list[str]:
    """Refuse a frame whose size disagrees with the header (a height of 0, defined later by a
    DNL marker, is taken as agreeing)."""
    try:
        size = frame_size(first_bytes(ds))
    except Exception:  # noqa: BLE001 - unreadable fragments: the decoders give their reason
        size = None
    if size is None:
        return []
    width, height, comps = size
    if width != header.columns or (height and height != header.rows) or comps != header.samples_per_pixel:
        raise ImageReadError(
            path, f"the JPEG codestream is {width}x{height}x{comps} but the header says "
                  f"{header.columns}x{header.rows}x{header.samples_per_pixel}",
        )
    return []
