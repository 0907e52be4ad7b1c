"""Decoding a DICOM file's pixels, with the guards that keep a damaged or hostile file from
taking the process down: sizes checked against the header before any decoder runs, decoders in
the order of their measured speed (design.md), Rust panics caught, GDCM skippable.
"""

from __future__ import annotations

import contextvars
import logging
import re
import struct
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

import cxrviewer.imaging.dicom.j2k as j2k
import cxrviewer.imaging.dicom.jpeg as jpeg
import cxrviewer.imaging.dicom.syntax as syntax
from cxrviewer.imaging import sniffing
from cxrviewer.imaging.dicom.errors import short as _short
from cxrviewer.imaging.dicom.geometry import check_damage
from cxrviewer.imaging.dicom.header import captured_warnings, read_dataset
from cxrviewer.imaging.dicom.tags import sanitise
from cxrviewer.imaging.records import ImageHeader, ImageReadError

log = logging.getLogger(__name__)

# Fastest first, as measured in design.md (a 3000x2500 12-bit radiograph).
_PLUGIN_ORDER: dict[str, tuple[str, ...]] = {
    "1.2.840.10008.1.2.5": ("pylibjpeg", "pydicom", "gdcm"),  # RLE
    "1.2.840.10008.1.2.4.80": ("pyjpegls", "gdcm", "pylibjpeg"),  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": ("pyjpegls", "gdcm", "pylibjpeg"),  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.57": ("gdcm", "pylibjpeg"),  # JPEG lossless
    "1.2.840.10008.1.2.4.70": ("gdcm", "pylibjpeg"),  # JPEG lossless SV1
    **dict.fromkeys(j2k.SYNTAXES, ("gdcm", "pylibjpeg", "pillow")),
}
# Decoders not to try (the isolated decoder's second attempt after one of them crashed the process).
SKIPPED_PLUGINS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("skipped_plugins", default=())


# --------------------------------------------------------------------------- decoding


_NATIVE_LITTLE_ENDIAN = {"1.2.840.10008.1.2": False, "1.2.840.10008.1.2.1": True}  # uid -> explicit VR


def _read_native_directly(path: str, header: ImageHeader, expected: int) -> np.ndarray | None:
    """The common case, uncompressed little-endian greyscale, read with one ``np.fromfile``.

    pydicom's ``pixel_array`` copies the data and masks unused bits through temporaries
    (about half of a 2k x 2k open); here the bytes land once in the final array and the bit
    masking or sign extension is done in place. Anything unusual returns None and goes through
    pydicom, which stays the reference (tests compare the two).
    """
    explicit = _NATIVE_LITTLE_ENDIAN.get(header.transfer_syntax_uid)
    if (
        explicit is None
        or header.samples_per_pixel != 1
        or header.bits_allocated not in (8, 16)
        or header.photometric not in ("MONOCHROME1", "MONOCHROME2")
        or not 0 < header.bits_stored <= header.bits_allocated
    ):
        return None
    with open(path, "rb") as handle:
        try:
            pydicom.dcmread(handle, stop_before_pixels=True)  # leaves the file at Pixel Data's tag
        except (InvalidDicomError, ValueError, EOFError, struct.error):
            return None  # no file meta or odd encoding: the forgiving path handles it
        start = handle.tell()
        element = handle.read(12 if explicit else 8)
        if len(element) < 8 or struct.unpack("<HH", element[:4]) != (0x7FE0, 0x0010):
            return None
        if explicit:
            if element[4:6] not in (b"OW", b"OB") or len(element) < 12:
                return None
            length = struct.unpack("<I", element[8:12])[0]
            handle.seek(start + 12)
        else:
            length = struct.unpack("<I", element[4:8])[0]
            handle.seek(start + 8)
        if length == 0xFFFFFFFF or length < expected:
            return None  # encapsulated or short: pydicom's path reports it precisely
        kind = "i" if header.pixel_representation else "u"
        dtype = np.dtype(f"<{kind}{header.bits_allocated // 8}")
        count = expected // dtype.itemsize
        arr = np.fromfile(handle, dtype=dtype, count=count)
    if arr.size != count:
        return None
    unused = header.bits_allocated - header.bits_stored
    if unused:
        if header.pixel_representation:
            arr <<= unused  # sign-extend from BitsStored: shift up, then arithmetic shift down
            arr >>= unused
        else:
            np.bitwise_and(arr, (1 << header.bits_stored) - 1, out=arr)
    shape = (header.rows, header.columns) if header.frames == 1 else (header.frames, header.rows, header.columns)
    return arr.reshape(shape)


def _decode_native(path: str, header: ImageHeader) -> tuple[np.ndarray, int]:
    """Uncompressed data straight from the file: pixel_array(path) reads only what it needs."""
    from pydicom.pixels import pixel_array

    expected = (
        header.rows * header.columns * header.frames * header.samples_per_pixel
        * header.bits_allocated // 8
    )
    try:
        direct = _read_native_directly(path, header, expected)
        if direct is not None:
            return direct, expected
        return pixel_array(path), expected
    except AttributeError as exc:
        raise ImageReadError(path, "no pixel data") from exc
    except (ValueError, EOFError, struct.error) as exc:
        have = _pixel_data_length(path)
        if have is not None and have < expected:
            raise ImageReadError(path, f"truncated pixel data: {have:,} of {expected:,} bytes") from exc
        raise ImageReadError(path, f"cannot decode pixel data: {_short(exc)}") from exc


def _pixel_data_length(path: str) -> int | None:
    """Bytes of Pixel Data actually in the file (after a failed decode, to say how short)."""
    try:
        with captured_warnings():
            ds = pydicom.dcmread(path)
        return len(ds.PixelData) if "PixelData" in ds else 0
    except Exception:  # noqa: BLE001 - only a detail for the message; unknown when unreadable
        return None


def _decode_dataset(path: str, ds: Dataset, header: ImageHeader) -> tuple[np.ndarray, list[str]]:
    """Decode with each available plugin in measured-speed order until one works."""
    from pydicom.pixels import pixel_array

    ts = header.transfer_syntax_uid
    decoder = _decoder(ts)
    if decoder is None or not decoder.is_available:
        raise ImageReadError(path, f"unsupported transfer syntax: {header.transfer_syntax_name or ts}")
    plugins: tuple[str, ...] = ("",)
    if decoder.is_encapsulated:
        available = decoder.available_plugins
        preferred = [p for p in _PLUGIN_ORDER.get(ts, ()) if p in available]
        plugins = tuple(p for p in preferred + [p for p in available if p not in preferred]
                        if p not in SKIPPED_PLUGINS.get()) or ("",)
    errors: dict[str, list[str]] = {}  # reason -> the plugins that gave it
    # No warning capture here: a J2K decode can take 0.5 s and the capture lock would stall a
    # concurrent folder scan; the mismatches worth telling are found by j2k.check_j2k beforehand.
    for plugin in plugins:
        try:
            return pixel_array(ds, decoding_plugin=plugin), []
        except BaseException as exc:  # pylibjpeg-rle raises a Rust PanicException (BaseException)
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)):
                raise
            errors.setdefault(_plugin_reason(exc), []).append(plugin or "pydicom")
    # A decoder that is not installed may be the only one for this file (12-bit JPEG Extended:
    # only pylibjpeg-libjpeg, which a GPL-free bundle leaves out): say what would decode it.
    missing = ([m.replace(" - requires ", " needs ") for m in decoder.missing_dependencies]
               if decoder.is_encapsulated else [])
    hint = f"; not installed: {', '.join(missing)}" if missing else ""
    tried = "; ".join(f"{', '.join(names)}: {why}" for why, names in errors.items())
    raise ImageReadError(path, f"cannot decode {header.transfer_syntax_name or ts} pixel data ({tried}{hint})")


_ALL_PLUGINS_FAILED = "Unable to decode as exceptions were raised by all available plugins:"


def _plugin_reason(exc: BaseException) -> str:
    """A plugin's own reason, without pydicom's "all available plugins" wrapper around it."""
    text = str(exc).strip()
    if text.startswith(_ALL_PLUGINS_FAILED):
        lines = [line.strip() for line in text[len(_ALL_PLUGINS_FAILED):].splitlines() if line.strip()]
        text = "; ".join(line.split(": ", 1)[-1] for line in lines)
    return _short(text or exc, 100)


def _decoder(ts: str) -> Any:
    from pydicom.pixels import get_decoder

    try:
        return get_decoder(ts)
    except NotImplementedError:  # a transfer syntax pydicom knows but cannot decode (e.g. video)
        return None


def decode_pixels(path: str, kind: sniffing.Sniffed, ds: Dataset, header: ImageHeader, damaged: bool = False,
            assume: dict[str, int] | None = None) -> tuple[np.ndarray, int, list[str]]:
    """Decoded stored values, the Pixel Data size in bytes, and decode warnings. A ``damaged``
    header (see :func:`sanitise`), or one lacking attributes (``assume``: keyword -> value), is
    decoded from the repaired dataset, never re-read by pydicom."""
    ts = header.transfer_syntax_uid
    decoder = _decoder(ts)
    if decoder is None:
        raise ImageReadError(path, f"unsupported transfer syntax: {header.transfer_syntax_name or ts}")
    native = not decoder.is_encapsulated
    replaced = any(w.startswith(syntax.REPLACED) for w in header.warnings)  # the file's own UID is damaged
    if native and kind == "dicom" and ts != pydicom.uid.ExplicitVRBigEndian and not (replaced or damaged or assume):
        arr, nbytes = _decode_native(path, header)
        return arr, nbytes, []
    full, notes = read_dataset(path, kind, header_only=False)
    check_damage(path, sanitise(full))
    for keyword, value in (assume or {}).items():
        setattr(full, keyword, value)
    if "PixelData" not in full:
        if any("ends early" in n for n in notes) or decoder.is_encapsulated:
            raise ImageReadError(path, "truncated pixel data (the file ends inside the compressed data)")
        raise ImageReadError(path, "no pixel data")
    if native and full["PixelData"].is_undefined_length:
        raise ImageReadError(path, "the pixel data is compressed but the transfer syntax "
                                   f"({header.transfer_syntax_name}) is not"
                                   + ("; the file's Transfer Syntax UID is damaged" if replaced else ""))
    warn: list[str] = []
    if ts in j2k.SYNTAXES:
        warn += j2k.check_j2k(path, full, header)
    elif ts in jpeg.SYNTAXES:
        warn += jpeg.check_jpeg(path, full, header)
    if native:
        arr, nbytes = _decode_native_dataset(path, full, header)
        return arr, nbytes, warn
    arr, caught = _decode_dataset(path, full, header)
    return arr, len(full.PixelData), warn + caught


def _decode_native_dataset(path: str, ds: Dataset, header: ImageHeader) -> tuple[np.ndarray, int]:
    from pydicom.pixels import pixel_array

    try:
        return pixel_array(ds), len(ds.PixelData)
    except ValueError as exc:
        found = re.search(r"\((\d+) vs (\d+) bytes\)", str(exc))
        if found:
            have, want = int(found.group(1)), int(found.group(2))
            raise ImageReadError(path, f"truncated pixel data: {have:,} of {want:,} bytes") from exc
        raise ImageReadError(path, f"cannot decode pixel data: {_short(exc)}") from exc


def as_frames(path: str, arr: np.ndarray, header: ImageHeader) -> np.ndarray:
    spp = header.samples_per_pixel
    shape = (header.frames, header.rows, header.columns) + ((spp,) if spp > 1 else ())
    if arr.size != int(np.prod(shape)):
        raise ImageReadError(path, f"decoded {arr.shape} does not match the header {shape}")
    return arr.reshape(shape)


# --------------------------------------------------------------------------- load_image
