"""What a file is, from its first bytes: cheap enough to run on every file of a folder scan."""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from typing import Literal

from cxrviewer.imaging.records import ImageReadError

_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}
_FIRST_GROUPS = {0x0002, 0x0004, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028}


@dataclass(frozen=True)
class RawDicom:
    """A DICOM dataset without preamble and file meta, and the encoding its bytes show."""

    implicit_vr: bool
    little_endian: bool
    offset: int = 0  # stray bytes before the first element (pydicom's no_meta.dcm has one)

    @property
    def transfer_syntax(self) -> str:
        if self.implicit_vr:
            return "1.2.840.10008.1.2"
        return "1.2.840.10008.1.2.1" if self.little_endian else "1.2.840.10008.1.2.2"


Sniffed = Literal["dicom", "png", "jpeg"] | RawDicom

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
)


def _raw_dicom(head: bytes) -> RawDicom | None:
    """A plausible first element (a low group, small element number) at or just after the start.

    Past offset 0 an explicit VR is required too, so random binary is not taken for DICOM.
    """
    for offset in range(4):
        chunk = head[offset : offset + 8]
        if len(chunk) < 8:
            return None
        explicit = chunk[4:6] in _VRS
        if offset and not explicit:
            continue
        for little in (True, False):
            group, element = struct.unpack("<HH" if little else ">HH", chunk[:4])
            if group in _FIRST_GROUPS and element < 0x2000:
                return RawDicom(implicit_vr=not explicit, little_endian=little, offset=offset)
    return None


def _looks_like(head: bytes) -> str:
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:1024]:
        return "an HTML page"
    if lowered.startswith(b"<?xml"):
        return "an XML file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if lowered[:1] in (b"{", b"["):
        return "a JSON file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(ch.isprintable() or ch in "\r\n\t\f" for ch in text[:-4]):
        return "a text file"
    return "unrecognised content"


_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
)


def _regular_file(path: str) -> None:
    """Refuse what is not a plain file before opening it: opening a named pipe waits for a writer
    forever, and a device may never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise ImageReadError(path, "a broken link (its target is missing)") from None
        raise ImageReadError(path, "cannot read file: No such file or directory") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise ImageReadError(path, "a folder, not a file")
    for test, what in _SPECIAL:
        if test(mode):
            raise ImageReadError(path, f"not a regular file ({what})")


def sniff(path: str | os.PathLike[str]) -> Sniffed:
    """Classify a file by content, never by name (a .dcm may be an HTML page).

    Raises
    ------
    ImageReadError
        "empty file (0 bytes)", "not a DICOM file (looks like ...)", or an OS error.
    """
    path = os.fspath(path)
    _regular_file(path)
    try:
        with open(path, "rb") as fp:
            head = fp.read(1024)
    except IsADirectoryError:
        raise ImageReadError(path, "a folder, not a file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not head:
        raise ImageReadError(path, "empty file (0 bytes)")
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raw = _raw_dicom(head)
    if raw is not None:
        return raw
    if len(head) < 132 and head.count(0) == len(head):
        raise ImageReadError(path, f"not a DICOM file (only {len(head)} zero bytes)")
    raise ImageReadError(path, f"not a DICOM file (looks like {_looks_like(head)})")
