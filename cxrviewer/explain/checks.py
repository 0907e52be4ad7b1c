"""Checks that a saliency method explains the model: the pointing game and rank correlation.

``pointing_game`` (Zhang et al. 2018): a map hits when its maximum falls on the finding's mask
(within ``tolerance`` pixels). ``spearman`` compares two maps by rank, for the model
randomisation test (Adebayo et al. 2018): a map that barely changes when the weights are
re-initialised shows the input, not what the model learned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cxrviewer.explain.types import SaliencyMap, to_film_grid


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Mask grown by ``radius`` pixels (Chebyshev), with shifted ORs (no scipy needed)."""
    if radius <= 0:
        return mask
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    rows, cols = mask.shape
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy:dy + rows, dx:dx + cols]
    return out


def pointing_hit(saliency: SaliencyMap | np.ndarray, mask: np.ndarray, tolerance: int = 0,
                 fit: str = "squash") -> bool:
    """Whether the map's maximum (on the mask's grid) lies on the mask; ties take the first.
    A map with no positive value never hits. ``fit``: how the film became the model input."""
    mask = np.asarray(mask, dtype=bool)
    rows, cols = mask.shape
    values = to_film_grid(saliency, rows, cols, fit=fit)
    if not np.any(values > 0):
        return False
    peak = np.unravel_index(int(np.argmax(values)), values.shape)
    return bool(_dilate(mask, tolerance)[peak])


def pointing_game(maps: Sequence[SaliencyMap | np.ndarray], masks: Sequence[np.ndarray],
                  tolerance: int = 0) -> float:
    """Hit rate of the maps' maxima on the masks (pairs in order); NaN for no pairs."""
    if len(maps) != len(masks):
        raise ValueError(f"{len(maps)} maps but {len(masks)} masks")
    if not maps:
        return float("nan")
    return float(np.mean([pointing_hit(m, k, tolerance) for m, k in zip(maps, masks)]))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.arange(1, values.size + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def spearman(a: SaliencyMap | np.ndarray, b: SaliencyMap | np.ndarray) -> float:
    """Spearman rank correlation of two maps of one shape (0 when either is constant)."""
    x = np.ravel(a.values if isinstance(a, SaliencyMap) else a).astype(np.float64)
    y = np.ravel(b.values if isinstance(b, SaliencyMap) else b).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"maps differ in size: {x.size} vs {y.size}")
    rx, ry = _ranks(x), _ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0
