"""The phantom's normal anatomy: one patient's habitus and the structures every film shows.

Lungs, heart, soft tissue, ribs, clavicles, spine, vessels and hila are fields over the
normalised grid; ``render`` weighs them into an attenuation map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxrviewer.demo.phantom.geometry import grid, ramp, smooth_noise


@dataclass(frozen=True)
class Anatomy:
    """One patient's body habitus, in normalised image coordinates."""

    mid: float = 0.5  # midline x
    half_thorax: float = 0.37  # lateral lung border at the bases, from the midline
    top: float = 0.12  # lung apices
    base: float = 0.80  # costophrenic angles
    dome: float = 0.08  # hemidiaphragm dome height above the angle
    right_higher: float = 0.02  # the right hemidiaphragm sits higher
    mediastinum: float = 0.06  # half-width of the upper mediastinum
    ctr: float = 0.44  # cardiothoracic ratio
    heart_shift: float = 0.045  # heart centre to the patient's left of the midline
    female: bool = False
    exposure: float = 1.0
    seed: int = 0

    @property
    def heart_half_width(self) -> float:
        return self.ctr * self.half_thorax


def sample_anatomy(rng: np.random.Generator, female: bool = False, ctr: float | None = None) -> Anatomy:
    """Anatomy that varies per patient: position, size, diaphragm, heart size."""
    scale = rng.uniform(0.92, 1.0) if female else rng.uniform(0.96, 1.04)
    return Anatomy(
        mid=0.5 + rng.uniform(-0.02, 0.02),
        half_thorax=0.36 * scale + rng.uniform(-0.01, 0.01),
        top=rng.uniform(0.09, 0.14),
        base=rng.uniform(0.76, 0.83),
        dome=rng.uniform(0.06, 0.095),
        right_higher=rng.uniform(0.0, 0.035),
        mediastinum=rng.uniform(0.052, 0.066),
        ctr=float(ctr) if ctr is not None else rng.uniform(0.38, 0.47),
        heart_shift=rng.uniform(0.03, 0.055),
        female=female,
        exposure=rng.uniform(0.9, 1.1),
        seed=int(rng.integers(2**31)),
    )


def ctr_for(severity: str, rng: np.random.Generator) -> float:
    """A cardiothoracic ratio for an enlarged heart of this severity."""
    lo, hi = {"mild": (0.54, 0.58), "moderate": (0.58, 0.63), "severe": (0.63, 0.69)}[severity]
    return float(rng.uniform(lo, hi))


def _diaphragm(a: Anatomy, side: int, u: np.ndarray) -> np.ndarray:
    """Height (y) of the hemidiaphragm at lateral distance ``u``: a dome, deepest laterally."""
    base = a.base - (a.right_higher if side < 0 else 0.0)
    t = (u - 0.42 * a.half_thorax) / (0.62 * a.half_thorax)
    return base - a.dome * np.clip(1.0 - t * t, 0.0, 1.0)


def lung_field(a: Anatomy, side: int, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Soft mask (0..1) of one lung, before the heart is taken out."""
    u = (x - a.mid) * side
    edge = 1.5 / size
    t = np.clip((y - a.top) / (a.base - a.top), 0.0, 1.0)
    lateral = a.half_thorax * (0.6 + 0.4 * t**0.4) - u
    medial = u - a.mediastinum * (1.0 - 0.25 * t)
    if side > 0:  # the aortic knob bulges into the left upper lung
        knob = np.hypot(u - a.mediastinum, (y - a.top - 0.13) * 1.3)
        medial = np.minimum(medial, knob - 0.035)
    apex = y - (a.top + 1.9 * (u - 0.5 * a.half_thorax) ** 2 / a.half_thorax)
    below = _diaphragm(a, side, u) - y
    inside = np.minimum(np.minimum(lateral, medial), np.minimum(apex, below))
    return ramp(inside, edge * 2)


def heart_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Soft heart silhouette: an ellipse resting on the left hemidiaphragm."""
    hw = a.heart_half_width
    hh = hw * 0.78
    cx = a.mid + a.heart_shift
    cy = a.base - a.dome * 0.75 - hh * 0.45
    r = np.sqrt(((x - cx) / hw) ** 2 + ((y - cy) / hh) ** 2)
    return ramp((1.0 - r) * hw, 2.0 / size)


def body_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Soft tissue thickness: neck, shoulders, chest wall, thicker in the middle."""
    shoulder = np.clip((0.2 - y) / 0.12, 0.0, 1.0)
    half = a.half_thorax + 0.07 + 0.07 * shoulder
    neck = np.clip((0.06 - y) / 0.05, 0.0, 1.0)
    half = half * (1.0 - neck) + 0.1 * neck
    dx = np.abs(x - a.mid) / half
    thickness = np.sqrt(np.clip(1.0 - dx * dx, 0.0, 1.0))
    return ramp(1.0 - dx, 3.0 / size) * (0.55 + 0.45 * thickness)


def rib_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int,
              fracture: tuple[int, int, float] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Posterior and anterior rib shadows as warped periodic bands (one pass for all ribs).

    ``fracture`` = (side, rib index, lateral position): that rib gets a gap and a step there;
    its mask is returned.
    """
    side_sign = np.where(x < a.mid, -1.0, 1.0)
    u = np.abs(x - a.mid) / a.half_thorax
    v = y + 0.04 * u - 0.16 * u * u
    span0, span1 = a.top - 0.02, a.base + 0.04
    phase = 10.0 * np.clip((v - span0) / (span1 - span0), 0.0, 1.2) ** 0.9
    frac_mask = None
    if fracture is not None:
        side, k, ub = fracture
        near = (side_sign == side) & (np.floor(phase) == k) & (np.abs(u - ub) < 0.25)
        phase = phase + 0.09 * near * np.clip((u - ub) / 0.012, 0.0, 1.0) * np.clip(1.0 - (u - ub) / 0.2, 0.0, 1.0)
        gap = near & (np.abs(u - ub) < 0.012)
    f = phase - np.floor(phase)
    band = np.clip(1.0 - np.abs(f - 0.22) / 0.2, 0.0, 1.0)
    cortex = np.clip(1.0 - np.abs(np.abs(f - 0.22) - 0.17) / 0.05, 0.0, 1.0)
    posterior = (0.55 * np.sqrt(band) + 0.45 * cortex)
    va = y - 0.16 * (1.0 - u)
    pa = 9.0 * np.clip((va - a.top + 0.02) / (a.base - a.top - 0.05), 0.0, 1.2)
    fa = pa - np.floor(pa)
    anterior = np.clip(1.0 - np.abs(fa - 0.25) / 0.2, 0.0, 1.0) * np.clip((u - 0.3) / 0.3, 0.0, 1.0)
    within = ramp(1.1 - u, 0.05) * np.clip((a.base + 0.05 - y) / 0.06, 0.15, 1.0)
    ribs = (posterior * np.clip(u / 0.12, 0.0, 1.0) + 0.45 * anterior) * within
    if fracture is not None:
        ribs = np.where(gap, ribs * 0.1, ribs)
        frac_mask = near & (np.abs(u - fracture[2]) < 0.06) & (band > 0)
    return ribs.astype(np.float32), frac_mask


def clavicle_field(a: Anatomy, size: int) -> np.ndarray:
    """Both clavicles as bands around a parabola (vertical distance), only in the top rows."""
    out = np.zeros((size, size), np.float32)
    rows = slice(0, int((a.top + 0.14) * size))
    x, y = grid(size)
    y = y[rows]
    u = np.abs(x - a.mid)
    centre = a.top + 0.075 + 0.15 * u - 0.9 * u * u
    extent = ramp(u - 0.04, 0.01) * ramp(0.38 - u, 0.02)
    out[rows] = ramp(0.011 - np.abs(y - centre), 2.0 / size) * extent
    return out


def spine_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    dx = np.abs(x - a.mid)
    column = ramp(0.032 - dx, 3.0 / size)
    levels = np.cos((y - a.top) * 2 * np.pi / 0.055) * 0.5 + 0.5
    return column * (0.7 + 0.3 * levels)


def marking_field(rng: np.random.Generator, a: Anatomy, x: np.ndarray, y: np.ndarray,
                  size: int) -> np.ndarray:
    """Vessels fanning out from the hila, tapering towards the periphery: thin radial ridges
    in the angle around each hilum, bent by smooth noise."""
    hy = a.top + 0.42 * (a.base - a.top)
    dx = np.abs(x - a.mid) - a.mediastinum - 0.03
    dy = y - hy
    theta = np.arctan2(dy, np.maximum(dx, 1e-3))
    r = np.hypot(dx, dy)
    bend = smooth_noise(rng, size, 14)
    ridges = np.clip(1.0 - np.abs(np.sin(11.0 * theta + bend + 6.0 * r)) * (2.0 + 14.0 * r), 0.0, 1.0)
    fade = np.exp(-r / 0.2) * np.clip(r / 0.07, 0.0, 1.0)
    return ridges * fade * (0.8 + 0.2 * bend)


def hilum_field(a: Anatomy, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    hy = a.top + 0.42 * (a.base - a.top)
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape), np.float32)
    for side, dy in ((-1, 0.02), (1, -0.01)):
        hx = a.mid + side * (a.mediastinum + 0.035)
        out += np.exp(-(((x - hx) / 0.035) ** 2 + ((y - hy - dy) / 0.06) ** 2))
    return out


def gastric_bubble_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    cx, cy = a.mid + 0.55 * a.half_thorax, a.base - a.dome + 0.07
    return ramp(1.0 - np.hypot((x - cx) / 0.06, (y - cy) / 0.035), 0.3)


def breast_field(a: Anatomy, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for side in (-1, 1):
        cx, cy = a.mid + side * a.half_thorax * 0.6, a.base - 0.06
        out = out + 0.12 * np.clip(1.0 - np.hypot((x - cx) / 0.2, (y - cy) / 0.14), 0.0, 0.3) / 0.3
    return out

