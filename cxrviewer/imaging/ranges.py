"""The value ranges of a decoded image: min/max and robust percentiles, the basis of the "Full
range" and "Auto" presets and of window/level drag sensitivity (DICOM, PNG and JPEG alike)."""

from __future__ import annotations

import numpy as np


def _percentiles(sub: np.ndarray, q: tuple[float, ...]) -> list[float]:
    """Percentiles of integer data by a histogram (bincount): ~10x faster than np.percentile."""
    flat = sub.ravel()
    if flat.size == 0:
        return [0.0] * len(q)
    if flat.dtype in (np.uint8, np.uint16):
        counts = np.cumsum(np.bincount(flat))
        ranks = [min(flat.size - 1, round(p / 100.0 * (flat.size - 1))) for p in q]
        return [float(np.searchsorted(counts, r, side="right")) for r in ranks]
    return [float(v) for v in np.percentile(flat, q)]


def display_ranges(display: np.ndarray, scale: float, offset: float,
                   is_color: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """Min/max and 0.5/99.5 percentiles of frame 0 on a [::8, ::8] subsample, modality units."""
    sub = display[0, ::8, ::8]
    if is_color:
        sub = sub.mean(axis=-1)
    lo, p_lo, p_hi, hi = _percentiles(np.ascontiguousarray(sub), (0.0, 0.5, 99.5, 100.0))
    to_mod = lambda v: (float(v) - offset) / scale  # noqa: E731
    a, b = sorted((to_mod(lo), to_mod(hi)))
    c, d = sorted((to_mod(p_lo), to_mod(p_hi)))
    return (a, b), (c, d)
