"""Shared geometry for the phantom: the pixel grid, soft edges, smooth noise, strokes, boxes.

Everything is in normalised coordinates (x, y in [0, 1], image left = patient right); each
helper is a few whole-array numpy operations, so a 512 px film takes tens of milliseconds.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

FIELD_MM = 358.0  # the image width in mm (0.7 mm pixels at 512 px)


@lru_cache(maxsize=8)
def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = ((np.arange(size, dtype=np.float32) + 0.5) / size)
    return c[np.newaxis, :], c[:, np.newaxis]


def ramp(d: np.ndarray, width: float) -> np.ndarray:
    """0 -> 1 across ``width`` around d == 0 (inside where d > 0): a cheap soft edge."""
    return np.clip(d * (1.0 / width) + 0.5, 0.0, 1.0)


@lru_cache(maxsize=16)
def _interp_matrix(size: int, cells: int) -> np.ndarray:
    """Gaussian interpolation weights from ``cells`` control points to ``size`` pixels."""
    pos = (np.arange(size) + 0.5) / size * cells
    centre = np.arange(cells) + 0.5
    w = np.exp(-0.5 * ((pos[:, None] - centre[None, :]) / 0.7) ** 2)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field (zero mean, unit-ish std) as two small matrix products."""
    m = _interp_matrix(size, cells)
    return (m * _noise_gain(size, cells)) @ rng.standard_normal((cells, cells)).astype(np.float32) @ m.T


@lru_cache(maxsize=16)
def _noise_gain(size: int, cells: int) -> float:
    """1 / the field's expected std, so no per-call normalisation pass is needed."""
    row = (_interp_matrix(size, cells) ** 2).sum(axis=1)
    return float(1.0 / np.sqrt(np.mean(row) ** 2))


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def segment_distance(x: np.ndarray, y: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    d = q - p
    t = np.clip(((x - p[0]) * d[0] + (y - p[1]) * d[1]) / max(float(d @ d), 1e-12), 0.0, 1.0)
    return np.hypot(x - p[0] - t * d[0], y - p[1] - t * d[1])


def polyline(size: int, points: np.ndarray, width: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """Soft stroke of a polyline (normalised points) computed only in its bounding window."""
    pad = width * 2 + 2.0 / size
    x0, y0 = np.clip(points.min(axis=0) - pad, 0, 1)
    x1, y1 = np.clip(points.max(axis=0) + pad, 0, 1)
    cs, rs = slice(int(x0 * size), int(np.ceil(x1 * size))), slice(int(y0 * size), int(np.ceil(y1 * size)))
    gx, gy = grid(size)
    x, y = gx[:, cs], gy[rs, :]
    dist = np.full((rs.stop - rs.start, cs.stop - cs.start), np.inf, np.float32)
    for p, q in itertools.pairwise(points):
        dist = np.minimum(dist, segment_distance(x, y, p, q))
    return (rs, cs), ramp(width / 2 - dist, 1.2 / size)


def bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], n: int = 8) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    a, b, c = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c

