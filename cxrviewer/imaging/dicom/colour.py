"""Colour films as uint8 RGB: palettes through their lookup tables, RGB/YBR scaled to 8 bits."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from cxrviewer.imaging.dicom.errors import short
from cxrviewer.imaging.records import ImageHeader, ImageReadError

_PALETTE = "PALETTE COLOR image without a usable colour lookup table"


def to_uint8_rgb(rgb: np.ndarray, bits: int) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    shift = max(0, bits - 8)
    return np.ascontiguousarray((rgb >> shift).astype(np.uint8))


def colour_pixels(path: str, ds: Dataset, header: ImageHeader, arr: np.ndarray) -> np.ndarray:
    """uint8 RGB: palettes through apply_color_lut; YBR was already converted by pixel_array
    (its ``as_rgb=True`` default runs convert_color_space)."""
    from pydicom.pixels import apply_color_lut

    if header.photometric == "PALETTE COLOR":
        problem = palette_problem(ds)
        if problem:
            raise ImageReadError(path, f"{_PALETTE} ({problem})")
        try:
            rgb = apply_color_lut(arr, ds)
        except Exception as exc:  # segmented tables have many ways to be wrong
            raise ImageReadError(path, f"{_PALETTE} ({type(exc).__name__}: {short(exc, 100)})") from exc
        return to_uint8_rgb(rgb, 8 if rgb.dtype == np.uint8 else 16)
    return to_uint8_rgb(arr, header.bits_stored or 8)


def _ints(value: Any) -> list[int] | None:
    try:
        items = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        return [int(v) for v in items]
    except (TypeError, ValueError):
        return None


def palette_problem(ds: Dataset) -> str | None:
    """What makes the Palette Color Lookup Table unusable, or None (PS3.3 C.7.6.3.1.5-6)."""
    if str(ds.get("PixelPresentation", "") or "") in ("MIXED", "COLOR"):
        return "a supplemental palette (PixelPresentation MIXED/COLOR) is not supported"
    lengths = set()
    for colour in ("Red", "Green", "Blue"):
        key = f"{colour}PaletteColorLookupTableDescriptor"
        if key not in ds:
            return f"{key} missing"
        descriptor = _ints(ds[key].value)
        if descriptor is None or len(descriptor) != 3:
            return f"{key} is not 3 numbers"
        entries, _first, bits = descriptor
        entries = entries or 65536
        if bits not in (8, 16):
            return f"{key} says {bits}-bit entries (8 or 16 expected)"
        data = ds.get(f"{colour}PaletteColorLookupTableData")
        if data is None:
            if f"Segmented{colour}PaletteColorLookupTableData" in ds:
                continue
            return f"{colour}PaletteColorLookupTableData missing"
        size = len(data) if isinstance(data, (bytes, bytearray)) else -1
        if size not in (entries, 2 * entries):
            return f"{colour}PaletteColorLookupTableData has {max(size, 0):,} bytes for {entries:,} entries"
        lengths.add(size)
    if len(lengths) > 1:
        return "the red, green and blue tables differ in length"
    return None
