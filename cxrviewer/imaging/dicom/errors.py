"""What pydicom's exceptions mean for the user: one specific sentence per kind of damage.

pydicom reports damage in its own words (``BytesLengthException: Expected total bytes to be an
even multiple of bytes per value...``, ``NotImplementedError: Unknown Value Representation``,
``OSError: No tag to read at file position ...``). These functions turn each kind into a reason
that names the element and says what is wrong with it, for :class:`ImageReadError` and for the
damaged elements shown in the tag tree.
"""

from __future__ import annotations

import contextlib
import logging
import re
import struct
import zlib
from collections.abc import Iterator

from pydicom.datadict import keyword_for_tag
from pydicom.errors import InvalidDicomError

from cxrviewer.imaging.records import ImageReadError

# The reason given when an exception of a kind nobody expected escapes a step: the app goes on
# (the file is skipped or not shown), and the fuzz test counts it as a bug to fix.
UNEXPECTED = "unexpected error"

_TAG = r"\(([0-9A-Fa-f]{4}),\s*([0-9A-Fa-f]{4})\)"


class DamagedValue(ValueError):
    """An element damaged beyond reading; the message is the reason."""

log = logging.getLogger(__name__)


def short(exc: BaseException | str, limit: int = 160) -> str:
    text = str(exc).strip() or (type(exc).__name__ if isinstance(exc, BaseException) else "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def element_name(group: int, element: int) -> str:
    """``(0028,0010) Rows``; a private or unknown tag is named by its number only."""
    keyword = keyword_for_tag((group << 16) | element) if group % 2 == 0 else ""
    return f"({group:04X},{element:04X})" + (f" {keyword}" if keyword else "")


def _named(match: re.Match[str] | None) -> str:
    if match is None:
        return "an element"
    return element_name(int(match.group(1), 16), int(match.group(2), 16))


def _in_meta(match: re.Match[str] | None) -> bool:
    return match is not None and int(match.group(1), 16) == 0x0002


def element_reason(exc: BaseException) -> str:
    """Why one element's value cannot be read, e.g. "VR 'XG' is not a DICOM VR"."""
    text = str(exc)
    if isinstance(exc, DamagedValue):
        return text
    if type(exc).__name__ == "BytesLengthException":
        length = re.search(r"with length (\d+)", text)
        vr = re.search(r"according to VR '([^']*)'", text)
        size = f"{int(length.group(1)):,} bytes" if length else "its length"
        kind = f"{vr.group(1)} values" if vr and vr.group(1) not in ("", "None") else "values"
        return f"{size} is not a whole number of {kind}"
    if isinstance(exc, NotImplementedError) and "Unknown Value Representation" in text:
        vr = re.search(r"Representation '([^']*)'", text)
        return f"VR {vr.group(1) if vr else '?'!r} is not a DICOM VR"
    if isinstance(exc, OSError) and "No tag to read" in text:
        return "a sequence item is cut short"
    if isinstance(exc, (EOFError, struct.error)):
        return "the value ends early"
    return f"unreadable value ({type(exc).__name__}: {short(exc, 100)})"


def read_reason(exc: BaseException) -> str:
    """Why a DICOM file's header (or its whole dataset) cannot be read."""
    text = str(exc)
    tag = re.search(_TAG, text)
    if type(exc).__name__ == "BytesLengthException" or (
        isinstance(exc, NotImplementedError) and "Unknown Value Representation" in text
    ):
        where = "damaged file meta" if _in_meta(tag) else "damaged DICOM header"
        return f"{where}: {_named(tag)}: {element_reason(exc)}"
    if isinstance(exc, InvalidDicomError):
        return f"not a readable DICOM file ({short(exc)})"
    if isinstance(exc, zlib.error):
        return f"damaged deflate-compressed dataset ({short(exc, 100)})"
    if isinstance(exc, OSError) and "No tag to read" in text:
        at = re.search(r"position ([0-9A-Fa-f]+)", text)
        where = f" (byte {int(at.group(1), 16):,})" if at else ""
        return f"damaged DICOM data: a sequence item is cut short{where}"
    if isinstance(exc, (EOFError, struct.error)):
        return "truncated DICOM header (file ends inside an element)"
    if isinstance(exc, MemoryError):
        return "damaged DICOM header (a length field asks for more memory than there is)"
    if isinstance(exc, OSError):
        return f"cannot read file: {exc.strerror or short(exc)}"
    if isinstance(exc, (ValueError, KeyError, TypeError, NotImplementedError, OverflowError, IndexError,
                        AttributeError, RecursionError)):
        return f"unreadable DICOM header: {short(exc)}"
    return unexpected(exc)


def unexpected(exc: BaseException) -> str:
    return f"{UNEXPECTED} ({type(exc).__name__}: {short(exc, 120)})"


@contextlib.contextmanager
def only_image_read_errors(path: str, doing: str) -> Iterator[None]:
    """The boundary of the public readers: whatever goes wrong leaves as ImageReadError, so one
    damaged file never stops a scan or a window; the unforeseen kind is logged with its stack."""
    try:
        yield
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(path, "not enough memory to decode this image") from exc
    except Exception as exc:  # the point of the boundary
        log.warning("unexpected error %s %s", doing, path, exc_info=True)
        raise ImageReadError(path, unexpected(exc)) from exc
