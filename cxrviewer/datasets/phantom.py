"""A procedural PA chest radiograph phantom with findings drawn at known places (numpy only).

The demo dataset needs images that look enough like chest X-rays for the viewer, the search
and the saliency maps to be exercised end to end, with a ground truth (a mask per finding)
that no real dataset offers. Everything is built in normalised coordinates (x, y in [0, 1],
image left = patient right, as a PA film is read) as an attenuation map, then exposed:
dense = bright (MONOCHROME2), 12-bit. Each structure is a handful of whole-array numpy
operations, so a 512 px image takes tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

FIELD_MM = 358.0  # the image width in mm (0.7 mm pixels at 512 px)
KINDS: tuple[str, ...] = ("cardiomegaly", "effusion", "consolidation", "nodule", "mass",
                          "pneumothorax", "atelectasis", "edema", "devices", "fracture")
LOBES: dict[str, tuple[float, float, float]] = {
    # lobe -> (side, fraction down the lung, fraction out from the midline)
    "right upper lobe": (-1, 0.22, 0.55),
    "right middle lobe": (-1, 0.62, 0.45),
    "right lower lobe": (-1, 0.82, 0.62),
    "left upper lobe": (1, 0.25, 0.58),
    "lingula": (1, 0.6, 0.7),
    "left lower lobe": (1, 0.84, 0.62),
}
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
_SEV = {"mild": 0, "moderate": 1, "severe": 2}


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


@dataclass(frozen=True)
class Finding:
    """A finding to draw: ``side`` is -1 (patient right), 1 (left), 0 (both / midline);
    ``where`` names a lobe, a device list ("ett+cvc+pacemaker") or is empty."""

    kind: str
    side: int = 0
    severity: str = "moderate"
    where: str = ""


@dataclass
class Phantom:
    """The rendered image (uint16, ``bits`` stored) with a full-resolution mask per finding kind,
    each mask's bounding box (x0, y0, x1, y1) in pixels, and what was drawn where (``details``)."""

    pixels: np.ndarray
    masks: dict[str, np.ndarray]
    boxes: dict[str, tuple[int, int, int, int]]
    details: dict[str, dict[str, object]] = field(default_factory=dict)
    lungs: np.ndarray | None = None
    heart: np.ndarray | None = None
    bits: int = 12


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


# --- geometry helpers ---------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = ((np.arange(size, dtype=np.float32) + 0.5) / size)
    return c[np.newaxis, :], c[:, np.newaxis]


def _ramp(d: np.ndarray, width: float) -> np.ndarray:
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


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _segment_distance(x: np.ndarray, y: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    d = q - p
    t = np.clip(((x - p[0]) * d[0] + (y - p[1]) * d[1]) / max(float(d @ d), 1e-12), 0.0, 1.0)
    return np.hypot(x - p[0] - t * d[0], y - p[1] - t * d[1])


def _polyline(size: int, points: np.ndarray, width: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """Soft stroke of a polyline (normalised points) computed only in its bounding window."""
    pad = width * 2 + 2.0 / size
    x0, y0 = np.clip(points.min(axis=0) - pad, 0, 1)
    x1, y1 = np.clip(points.max(axis=0) + pad, 0, 1)
    cs, rs = slice(int(x0 * size), int(np.ceil(x1 * size))), slice(int(y0 * size), int(np.ceil(y1 * size)))
    gx, gy = _grid(size)
    x, y = gx[:, cs], gy[rs, :]
    dist = np.full((rs.stop - rs.start, cs.stop - cs.start), np.inf, np.float32)
    for p, q in zip(points[:-1], points[1:]):
        dist = np.minimum(dist, _segment_distance(x, y, p, q))
    return (rs, cs), _ramp(width / 2 - dist, 1.2 / size)


def _bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], n: int = 8) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    a, b, c = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c


# --- anatomy ------------------------------------------------------------------------------


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
    return _ramp(inside, edge * 2)


def heart_field(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Soft heart silhouette: an ellipse resting on the left hemidiaphragm."""
    hw = a.heart_half_width
    hh = hw * 0.78
    cx = a.mid + a.heart_shift
    cy = a.base - a.dome * 0.75 - hh * 0.45
    r = np.sqrt(((x - cx) / hw) ** 2 + ((y - cy) / hh) ** 2)
    return _ramp((1.0 - r) * hw, 2.0 / size)


def _body(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Soft tissue thickness: neck, shoulders, chest wall, thicker in the middle."""
    shoulder = np.clip((0.2 - y) / 0.12, 0.0, 1.0)
    half = a.half_thorax + 0.07 + 0.07 * shoulder
    neck = np.clip((0.06 - y) / 0.05, 0.0, 1.0)
    half = half * (1.0 - neck) + 0.1 * neck
    dx = np.abs(x - a.mid) / half
    thickness = np.sqrt(np.clip(1.0 - dx * dx, 0.0, 1.0))
    return _ramp(1.0 - dx, 3.0 / size) * (0.55 + 0.45 * thickness)


def _ribs(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int,
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
    within = _ramp(1.1 - u, 0.05) * np.clip((a.base + 0.05 - y) / 0.06, 0.15, 1.0)
    ribs = (posterior * np.clip(u / 0.12, 0.0, 1.0) + 0.45 * anterior) * within
    if fracture is not None:
        ribs = np.where(gap, ribs * 0.1, ribs)
        frac_mask = near & (np.abs(u - fracture[2]) < 0.06) & (band > 0)
    return ribs.astype(np.float32), frac_mask


def _clavicles(a: Anatomy, size: int) -> np.ndarray:
    """Both clavicles as bands around a parabola (vertical distance), only in the top rows."""
    out = np.zeros((size, size), np.float32)
    rows = slice(0, int((a.top + 0.14) * size))
    x, y = _grid(size)
    y = y[rows]
    u = np.abs(x - a.mid)
    centre = a.top + 0.075 + 0.15 * u - 0.9 * u * u
    extent = _ramp(u - 0.04, 0.01) * _ramp(0.38 - u, 0.02)
    out[rows] = _ramp(0.011 - np.abs(y - centre), 2.0 / size) * extent
    return out


def _spine(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    dx = np.abs(x - a.mid)
    column = _ramp(0.032 - dx, 3.0 / size)
    levels = np.cos((y - a.top) * 2 * np.pi / 0.055) * 0.5 + 0.5
    return column * (0.7 + 0.3 * levels)


def _markings(rng: np.random.Generator, a: Anatomy, x: np.ndarray, y: np.ndarray,
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


def _hila(a: Anatomy, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    hy = a.top + 0.42 * (a.base - a.top)
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape), np.float32)
    for side, dy in ((-1, 0.02), (1, -0.01)):
        hx = a.mid + side * (a.mediastinum + 0.035)
        out += np.exp(-(((x - hx) / 0.035) ** 2 + ((y - hy - dy) / 0.06) ** 2))
    return out


# --- findings -----------------------------------------------------------------------------


def _effusion(a: Anatomy, f: Finding, lung: np.ndarray, x: np.ndarray, y: np.ndarray,
              size: int) -> np.ndarray:
    """Fluid filling the lung base up to a level, higher laterally (the meniscus)."""
    out = np.zeros_like(lung)
    for side in ((-1, 1) if f.side == 0 else (f.side,)):
        u = (x - a.mid) * side
        base = a.base - (a.right_higher if side < 0 else 0.0)
        rise = (0.07, 0.17, 0.32)[_SEV[f.severity]]
        lateral = np.clip((u - 0.2 * a.half_thorax) / (0.8 * a.half_thorax), 0.0, 1.0)
        level = base - rise - 0.1 * lateral**2
        fluid = _ramp(y - level, 0.02) * (u > 0) * lung
        out = np.maximum(out, fluid * (0.8 + 0.2 * np.clip((y - level) / 0.1, 0.0, 1.0)))
    return out


def _lobe_centre(a: Anatomy, lobe: str) -> tuple[int, float, float]:
    side, down, out = LOBES[lobe]
    return side, a.mid + side * (a.mediastinum + out * (a.half_thorax - a.mediastinum)), \
        a.top + down * (a.base - a.top - a.dome)


def _blob(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, cx: float, cy: float,
          rx: float, ry: float, size: int, patchy: bool) -> np.ndarray:
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    core = np.clip(1.2 - r, 0.0, 1.0)
    if patchy:
        n = smooth_noise(rng, size, 28)
        core = core * np.clip(0.55 + 0.45 * n, 0.0, 1.0)
    return core


def _consolidation(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray,
                   x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    _, cx, cy = _lobe_centre(a, f.where)
    r = (0.06, 0.085, 0.12)[_SEV[f.severity]]
    return np.clip(_blob(rng, x, y, cx, cy, r, r * 0.8, size, True) * 1.4, 0, 1) * lung


def _round_lesion(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray,
                  x: np.ndarray, y: np.ndarray, size: int, mm: float) -> tuple[np.ndarray, dict[str, object]]:
    """A nodule or mass: a sphere's projection, lobulated when large."""
    _, cx, cy = _lobe_centre(a, f.where)
    cx += rng.uniform(-0.03, 0.03)
    cy += rng.uniform(-0.03, 0.03)
    r0 = mm / 2 / FIELD_MM
    theta = np.arctan2(y - cy, x - cx)
    lobulation = 1.0 + (0.1 * np.sin(3 * theta + rng.uniform(0, 6)) if mm > 25 else 0.0)
    d = np.hypot(x - cx, y - cy) / (r0 * lobulation)
    lesion = np.sqrt(np.clip(1.0 - d * d, 0.0, 1.0)) ** 0.6
    return lesion * np.clip(lung * 1.5, 0, 1), {"size_mm": round(mm), "x": round(cx, 3), "y": round(cy, 3)}


def _pneumothorax(a: Anatomy, f: Finding, x: np.ndarray, y: np.ndarray,
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    """The lung retracted towards its medial base; returns (air space, pleural line)."""
    side = f.side or -1
    factor = (0.9, 0.8, 0.66)[_SEV[f.severity]]
    ax, ay = a.mid + side * (a.mediastinum + 0.05), a.base - a.dome
    full = lung_field(a, side, x, y, size)
    collapsed = lung_field(a, side, ax + (x - ax) / factor, ay + (y - ay) / factor, size)
    space = np.clip(full - collapsed, 0.0, 1.0)
    line = np.clip(1.0 - np.abs(collapsed - 0.5) * 2.2, 0.0, 1.0) * (full > 0.5)
    return space, line


def _atelectasis(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray,
                 x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Plate-like (discoid) atelectasis: a thin oblique band in the lower zone."""
    side = f.side or -1
    cx = a.mid + side * (a.mediastinum + 0.5 * (a.half_thorax - a.mediastinum))
    cy = a.base - a.dome - rng.uniform(0.03, 0.08)
    half = (0.05, 0.07, 0.09)[_SEV[f.severity]]
    ang = rng.uniform(-0.25, 0.25)
    p = np.array([cx - half * np.cos(ang), cy - half * np.sin(ang)])
    q = np.array([cx + half * np.cos(ang), cy + half * np.sin(ang)])
    d = _segment_distance(x, y, p, q)
    return _ramp(0.008 + 0.002 * _SEV[f.severity] - d, 3.0 / size) * lung


def _edema(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray, x: np.ndarray,
           y: np.ndarray, size: int) -> np.ndarray:
    """Bilateral perihilar haze (bat wing) and Kerley B lines at the lateral bases."""
    hy = a.top + 0.45 * (a.base - a.top)
    haze = np.zeros_like(lung)
    for side in (-1, 1):
        hx = a.mid + side * (a.mediastinum + 0.08)
        haze += np.exp(-(((x - hx) / 0.13) ** 2 + ((y - hy) / 0.2) ** 2))
    haze = haze * (0.75 + 0.25 * smooth_noise(rng, size, 16))
    u = np.abs(x - a.mid)
    lateral = np.clip((u - a.half_thorax * 0.8) / 0.03, 0, 1) * np.clip((y - (a.base - 0.25)) / 0.05, 0, 1)
    lines = np.abs(((y * size / 11.0) % 1.0) - 0.5) < 0.1
    kerley = lines * lateral * (smooth_noise(rng, size, 24) > 0.3)
    strength = (0.6, 0.8, 1.0)[_SEV[f.severity]]
    return np.clip(haze * strength + 0.4 * kerley, 0, 1.2) * lung


def _devices(a: Anatomy, f: Finding, size: int) -> tuple[np.ndarray, list[str]]:
    """ET tube, central line and pacemaker as radio-opaque strokes and a generator can."""
    out = np.zeros((size, size), np.float32)
    kinds = [k for k in f.where.split("+") if k] or ["ett"]
    carina = a.top + 0.2

    def draw(points: np.ndarray, width: float, value: float) -> None:
        (rs, cs), stroke = _polyline(size, points, width)
        out[rs, cs] = np.maximum(out[rs, cs], stroke * value)

    if "ett" in kinds:
        tip = carina - 0.05
        for dx in (-0.009, 0.009):
            draw(np.array([[a.mid + dx, 0.0], [a.mid + dx * 0.9, tip]]), 0.004, 0.7)
        draw(np.array([[a.mid - 0.002, 0.0], [a.mid - 0.002, tip]]), 0.005, 1.0)
    if "cvc" in kinds:
        draw(_bezier((a.mid - 0.1, 0.0), (a.mid - 0.07, a.top + 0.1), (a.mid - 0.03, carina + 0.06)), 0.006, 0.9)
    if "pacemaker" in kinds:
        gx, gy = a.mid + 0.26, a.top + 0.12
        can = np.array([[gx - 0.03, gy], [gx + 0.03, gy]])
        draw(can, 0.06, 1.6)
        lead = _bezier((gx - 0.02, gy), (a.mid - 0.02, a.top + 0.05), (a.mid + 0.02, a.base - a.dome - 0.05), 16)
        draw(lead, 0.006, 1.2)
    return out, kinds


# --- rendering ----------------------------------------------------------------------------


def render(anatomy: Anatomy, findings: tuple[Finding, ...] = (), size: int = 512,
           bits: int = 12) -> Phantom:
    """Render one radiograph with ``findings`` drawn in; deterministic in ``anatomy.seed``.

    Returns
    -------
    Phantom
        ``pixels`` uint16 (MONOCHROME2), ``masks[kind]`` bool (size, size), boxes and details.
    """
    a = anatomy
    if any(f.kind == "cardiomegaly" for f in findings) and a.ctr <= 0.5:
        a = replace(a, ctr=0.58)
    # separate streams, so adding a finding changes nothing but the finding
    rng, finding_rng, noise_rng = (np.random.default_rng([a.seed, k]) for k in range(3))
    x, y = _grid(size)
    heart = heart_field(a, x, y, size)
    lungs_raw = {s: lung_field(a, s, x, y, size) for s in (-1, 1)}
    lung = np.clip(lungs_raw[-1] + lungs_raw[1], 0, 1) * (1.0 - heart)
    masks: dict[str, np.ndarray] = {}
    details: dict[str, dict[str, object]] = {}
    fracture = _fracture_params(finding_rng, a, findings)
    ribs, frac_mask = _ribs(a, x, y, size, fracture)
    markings = _markings(rng, a, x, y, size)

    density = _body(a, x, y, size) * 1.0
    density += 0.12 * _spine(a, x, y, size)
    density += 0.04 * heart
    density += 0.2 * _hila(a, x, y) * lung
    density -= 0.72 * lung
    density -= 0.3 * _gastric_bubble(a, x, y, size)
    density += 0.16 * _clavicles(a, size)
    density += 0.15 * ribs * (0.45 + 0.55 * lung)  # bone shows best against air
    trachea = _ramp(0.017 - np.abs(x - a.mid), 2.0 / size) * np.clip((a.top + 0.2 - y) / 0.03, 0, 1)
    density -= 0.18 * trachea
    density += _breasts(a, x, y) if a.female else 0.0
    vessel = 0.16 * markings * lung

    for f in findings:
        add, mask, info = _finding(finding_rng, a, f, lung, x, y, size, heart, frac_mask)
        if f.kind == "pneumothorax":
            space, line = add
            vessel = vessel * (1.0 - space)
            density = density - 0.1 * space + 0.5 * line
        elif add is not None:
            density = density + add
        masks[f.kind] = mask if f.kind not in masks else masks[f.kind] | mask
        details[f.kind] = info
    if fracture is not None:
        details["fracture"]["rib"] = fracture[1] + 3  # phase band k is about the (k+3)th posterior rib
    density += vessel
    pixels = _expose(noise_rng, density, a, size, bits)
    boxes = {k: _bbox(m) for k, m in masks.items()}
    return Phantom(pixels, masks, boxes, details, lung > 0.5, heart > 0.5, bits)


def _fracture_params(rng: np.random.Generator, a: Anatomy,
                     findings: tuple[Finding, ...]) -> tuple[int, int, float] | None:
    for f in findings:
        if f.kind == "fracture":
            return (f.side or -1, int(rng.integers(3, 7)), float(rng.uniform(0.62, 0.85)))
    return None


def _finding(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray, x: np.ndarray,
             y: np.ndarray, size: int, heart: np.ndarray,
             frac_mask: np.ndarray | None) -> tuple[object, np.ndarray, dict[str, object]]:
    """(density to add, mask, details) for one finding."""
    info: dict[str, object] = {"side": f.side, "severity": f.severity, "where": f.where}
    if f.kind == "cardiomegaly":
        info["ctr"] = round(a.ctr, 3)
        return None, heart > 0.5, info
    if f.kind == "effusion":
        fluid = _effusion(a, f, lung, x, y, size)
        return 0.6 * fluid, fluid > 0.3, info
    if f.kind == "consolidation":
        patch = _consolidation(rng, a, f, lung, x, y, size)
        return 0.42 * patch, patch > 0.25, info
    if f.kind in ("nodule", "mass"):
        lo, hi = (6.0, 18.0) if f.kind == "nodule" else (32.0, 60.0)
        mm = lo + (hi - lo) * (_SEV[f.severity] + rng.uniform(0, 1)) / 3
        lesion, more = _round_lesion(rng, a, f, lung, x, y, size, mm)
        info.update(more)
        return 0.5 * lesion, lesion > 0.2, info
    if f.kind == "pneumothorax":
        space, line = _pneumothorax(a, f, x, y, size)
        return (space, line), (space > 0.4) | (line > 0.5), info
    if f.kind == "atelectasis":
        band = _atelectasis(rng, a, f, lung, x, y, size)
        return 0.22 * band, band > 0.3, info
    if f.kind == "edema":
        haze = _edema(rng, a, f, lung, x, y, size)
        return 0.33 * haze, haze > 0.2, info
    if f.kind == "devices":
        metal, kinds = _devices(a, f, size)
        info["devices"] = kinds
        return 0.9 * metal, metal > 0.3, info
    if f.kind == "fracture":
        mask = frac_mask if frac_mask is not None else np.zeros((size, size), bool)
        return None, np.asarray(mask, bool), info
    raise ValueError(f"unknown finding kind {f.kind!r}")


def _gastric_bubble(a: Anatomy, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    cx, cy = a.mid + 0.55 * a.half_thorax, a.base - a.dome + 0.07
    return _ramp(1.0 - np.hypot((x - cx) / 0.06, (y - cy) / 0.035), 0.3)


def _breasts(a: Anatomy, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = 0.0
    for side in (-1, 1):
        cx, cy = a.mid + side * a.half_thorax * 0.6, a.base - 0.06
        out = out + 0.12 * np.clip(1.0 - np.hypot((x - cx) / 0.2, (y - cy) / 0.14), 0.0, 0.3) / 0.3
    return out


def _expose(rng: np.random.Generator, density: np.ndarray, a: Anatomy, size: int,
            bits: int) -> np.ndarray:
    """Attenuation -> detector signal (dense = bright), with blur-free quantum noise."""
    signal = 1.0 - np.exp(-1.3 * a.exposure * np.clip(density, 0.0, None))
    signal = signal + 0.012 * smooth_noise(rng, size, 6)
    signal = signal + rng.standard_normal((size, size), dtype=np.float32) * 0.006
    top = 2**bits - 1
    return np.clip(180 + signal * (top - 500), 0, top).astype(np.uint16)


def measure_ctr(heart: np.ndarray, lungs: np.ndarray) -> float:
    """Cardiothoracic ratio from masks: widest heart extent over widest inner thorax."""
    hcols = np.flatnonzero(heart.any(axis=0))
    lcols = np.flatnonzero(lungs.any(axis=0))
    if hcols.size == 0 or lcols.size == 0:
        return 0.0
    return float((hcols[-1] - hcols[0] + 1) / (lcols[-1] - lcols[0] + 1))
