"""Calibration and measurements: pixel spacing, lengths, the cardiothoracic ratio."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cxrviewer.imaging.records import PixelSpacing

DETECTOR_NOTE = "at the detector (ImagerPixelSpacing), not corrected for magnification"


def _pair(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        items = list(value) if not isinstance(value, (str, bytes)) else str(value).split("\\")
        if len(items) != 2:
            return None
        return float(items[0]), float(items[1])
    except (TypeError, ValueError):
        return None


def spacing_of(ds_or_values: Any) -> tuple[PixelSpacing | None, str]:
    """The calibration to use for lengths, and why there is none when there is none.

    PixelSpacing (calibrated in the patient plane) is preferred; ImagerPixelSpacing is the
    spacing at the detector, which overstates sizes by the geometric magnification (~10% on a PA
    chest), so it is used with a note saying so.

    Parameters
    ----------
    ds_or_values
        A pydicom Dataset, or a mapping with "PixelSpacing" / "ImagerPixelSpacing" values.

    Returns
    -------
    (spacing or None, note): the note explains a missing or degraded calibration.
    """
    get = ds_or_values.get if isinstance(ds_or_values, Mapping) or hasattr(ds_or_values, "get") else None
    reasons: list[str] = []
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        raw = get(keyword) if get else None
        if raw is None:
            continue
        pair = _pair(raw)
        if pair is None:
            reasons.append(f"{keyword} is not a pair of numbers: no calibrated measurement")
            continue
        if not all(math.isfinite(v) for v in pair) or pair[0] <= 0 or pair[1] <= 0:
            what = "0" if pair[0] == 0 or pair[1] == 0 else "not positive"
            reasons.append(f"{keyword} is {what}: no calibrated measurement")
            continue
        note = DETECTOR_NOTE if keyword == "ImagerPixelSpacing" else ""
        if reasons:
            note = "; ".join([*reasons, note]) if note else "; ".join(reasons)
        return PixelSpacing(pair[0], pair[1], keyword, note), note
    if not reasons:
        reasons.append("no pixel spacing in the file: lengths in pixels")
    return None, "; ".join(reasons)


def length(
    p0: Sequence[float], p1: Sequence[float], spacing: PixelSpacing | None
) -> tuple[float, str, str]:
    """Distance between two (row, col) image points: mm when calibrated, else pixels.

    Returns
    -------
    (value, unit, source_text) where source_text says which calibration was used.
    """
    drow = float(p1[0]) - float(p0[0])
    dcol = float(p1[1]) - float(p0[1])
    if spacing is None:
        return math.hypot(drow, dcol), "px", "uncalibrated (pixels)"
    value = math.hypot(drow * spacing.row_mm, dcol * spacing.column_mm)
    source = spacing.source + (f" ({spacing.note})" if spacing.note else "")
    return value, "mm", source


def cardiothoracic_ratio(cardiac_width: float, thoracic_width: float) -> float:
    """Cardiac / thoracic width; NaN when the thoracic width is zero (not drawn yet)."""
    if thoracic_width == 0 or not math.isfinite(thoracic_width):
        return math.nan
    return abs(cardiac_width) / abs(thoracic_width)
