"""Stored values to modality values for grey films, and the windows and VOI LUTs a file carries.

A damaged Modality LUT costs the film only its LUT: the stored values are shown, with a warning
that says why, rather than the film being lost to an exception from deep in pydicom.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from cxrviewer.imaging.dicom.errors import short
from cxrviewer.imaging.records import VoiPreset, Window


def floats(value: Any) -> list[float]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    out = []
    for item in items:
        try:
            out.append(float(item))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def file_presets(ds: Dataset) -> tuple[VoiPreset, ...]:
    """Every window (named by its explanation) and every VOI LUT the file carries."""
    presets: list[VoiPreset] = []
    centers = floats(ds.get("WindowCenter"))
    widths = floats(ds.get("WindowWidth"))
    explanations = ds.get("WindowCenterWidthExplanation")
    if isinstance(explanations, str):
        explanations = [explanations]
    explanations = [str(e) for e in (explanations or [])]
    function = str(ds.get("VOILUTFunction", "") or "LINEAR").upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        function = "LINEAR"
    for i, (c, w) in enumerate(zip(centers, widths)):
        if not (np.isfinite(c) and np.isfinite(w)) or w <= 0:
            continue
        name = explanations[i] if i < len(explanations) and explanations[i] else f"File window {i + 1}"
        presets.append(VoiPreset(name, Window(c, w, function), source="file"))  # type: ignore[arg-type]
    for i, item in enumerate(ds.get("VOILUTSequence") or []):
        try:
            count, first, _bits = (int(v) for v in item.LUTDescriptor)
            lut = np.asarray(item.LUTData, dtype=np.float64).ravel()
        except Exception:  # noqa: BLE001 - a malformed LUT item is skipped; the others still apply
            continue
        count = count or 65536
        name = str(item.get("LUTExplanation", "") or "") or f"File VOI LUT {i + 1}"
        presets.append(VoiPreset(name, None, float(first), lut[:count], source="file"))
    return tuple(presets)


def grey_display(ds: Dataset, arr: np.ndarray, warn: list[str]) -> dict[str, Any]:
    """display_pixels and the linear map modality -> display for a grey image (no float copy)."""
    from pydicom.pixels import apply_modality_lut

    if "ModalityLUTSequence" in ds:
        try:
            mod = apply_modality_lut(arr, ds)
            rtype = str(ds.ModalityLUTSequence[0].get("ModalityLUTType", "") or "")
        except Exception as exc:  # noqa: BLE001 - a damaged table: the stored values still show
            warn.append(f"the Modality LUT is damaged ({type(exc).__name__}: {short(exc, 80)}): stored values shown")
        else:
            if np.issubdtype(mod.dtype, np.integer) and mod.size and mod.min() >= 0 and mod.max() <= 65535:
                display = np.ascontiguousarray(mod.astype(np.uint16 if mod.max() > 255 else np.uint8, copy=False))
            else:
                display = np.ascontiguousarray(mod, dtype=np.float32)
            return dict(display_pixels=display, display_scale=1.0, display_offset=0.0,
                        has_modality_lut=True, rescale_type="HU" if rtype == "HU" else "")
    slope = floats(ds.get("RescaleSlope", 1.0))[:1] or [1.0]
    intercept = floats(ds.get("RescaleIntercept", 0.0))[:1] or [0.0]
    m, b = slope[0], intercept[0]
    if not np.isfinite(m) or m == 0:
        warn.append(f"RescaleSlope {ds.get('RescaleSlope')!r} is unusable: 1 used")
        m = 1.0
    if not np.isfinite(b):
        warn.append(f"RescaleIntercept {ds.get('RescaleIntercept')!r} is unusable: 0 used")
        b = 0.0
    rtype = str(ds.get("RescaleType", "") or "")
    if not rtype and str(ds.get("Modality", "")) == "CT":
        rtype = "HU"
    if rtype.upper() in ("US", "UNSPECIFIED"):
        rtype = ""
    if arr.dtype in (np.uint8, np.uint16):
        display, shift = np.ascontiguousarray(arr), 0.0
    elif arr.dtype == np.int16:
        display, shift = arr.view(np.uint16) ^ np.uint16(0x8000), 32768.0
    elif arr.dtype == np.int8:
        display, shift = arr.view(np.uint8) ^ np.uint8(0x80), 128.0
    else:  # 32-bit or float data: keep modality values as float32
        display = np.ascontiguousarray(arr * m + b, dtype=np.float32)
        return dict(display_pixels=display, display_scale=1.0, display_offset=0.0,
                    rescale_slope=m, rescale_intercept=b, rescale_type=rtype)
    return dict(display_pixels=display, display_scale=1.0 / m, display_offset=-b / m + shift,
                rescale_slope=m, rescale_intercept=b, rescale_type=rtype)
