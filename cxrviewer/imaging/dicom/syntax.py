"""Transfer Syntax UIDs as damaged file meta holds them, and whether pixel data is compressed."""

from __future__ import annotations

from pydicom.uid import UID, AllTransferSyntaxes, PrivateTransferSyntaxes

# The start of the warning given when a file's Transfer Syntax UID is replaced by the encoding
# its bytes were read in (see :func:`cxrviewer.imaging.dicom.header.read_dataset`).
REPLACED = "Transfer Syntax UID "


def problem(uid: str) -> str | None:
    """Why ``uid`` cannot be a transfer syntax ("is not a valid UID", "is a SOP class..."),
    or None when pydicom knows it as one."""
    if not uid:
        return "is empty"
    if uid in AllTransferSyntaxes or uid in PrivateTransferSyntaxes:
        return None
    value = UID(uid)
    if not value.is_valid:
        return "is not a valid UID"
    if not value.is_private and value.name != uid:
        return f"is not a transfer syntax but {value.name!r}"
    return "is not a transfer syntax this viewer knows"


def is_compressed(uid: str) -> bool:
    """True for the encapsulated syntaxes (JPEG, JPEG 2000, JPEG-LS, RLE...); False for native
    ones and for anything that is not a known transfer syntax (never raises)."""
    return problem(uid) is None and UID(uid).is_compressed
