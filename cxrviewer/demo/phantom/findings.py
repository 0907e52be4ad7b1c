"""The findings the phantom draws, each at a known place, with the mask that says where.

``draw_finding`` returns the density a finding adds (for a pneumothorax: the air space and the
pleural line), its full-resolution mask and what was drawn (side, severity, size, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxrviewer.demo.phantom.anatomy import Anatomy, lung_field
from cxrviewer.demo.phantom.geometry import FIELD_MM, bezier, polyline, ramp, segment_distance, smooth_noise

KINDS: tuple[str, ...] = ("cardiomegaly", "effusion", "consolidation", "nodule", "mass",
                          "pneumothorax", "atelectasis", "edema", "devices", "fracture")
LOBES: dict[str, tuple[int, float, float]] = {
    # lobe -> (side, fraction down the lung, fraction out from the midline)
    "right upper lobe": (-1, 0.22, 0.55),
    "right middle lobe": (-1, 0.62, 0.45),
    "right lower lobe": (-1, 0.82, 0.62),
    "left upper lobe": (1, 0.25, 0.58),
    "lingula": (1, 0.6, 0.7),
    "left lower lobe": (1, 0.84, 0.62),
}
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
# What a finding adds to the film's density: a field, none (it changes the anatomy instead), or
# for a pneumothorax the (air space, pleural line) pair, which also thins the lung markings.
Density = np.ndarray | tuple[np.ndarray, np.ndarray] | None
_SEV = {"mild": 0, "moderate": 1, "severe": 2}


@dataclass(frozen=True)
class Finding:
    """A finding to draw: ``side`` is -1 (patient right), 1 (left), 0 (both / midline);
    ``where`` names a lobe, a device list ("ett+cvc+pacemaker") or is empty."""

    kind: str
    side: int = 0
    severity: str = "moderate"
    where: str = ""


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
        fluid = ramp(y - level, 0.02) * (u > 0) * lung
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
    d = segment_distance(x, y, p, q)
    return ramp(0.008 + 0.002 * _SEV[f.severity] - d, 3.0 / size) * lung


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
        (rs, cs), stroke = polyline(size, points, width)
        out[rs, cs] = np.maximum(out[rs, cs], stroke * value)

    if "ett" in kinds:
        tip = carina - 0.05
        for dx in (-0.009, 0.009):
            draw(np.array([[a.mid + dx, 0.0], [a.mid + dx * 0.9, tip]]), 0.004, 0.7)
        draw(np.array([[a.mid - 0.002, 0.0], [a.mid - 0.002, tip]]), 0.005, 1.0)
    if "cvc" in kinds:
        draw(bezier((a.mid - 0.1, 0.0), (a.mid - 0.07, a.top + 0.1), (a.mid - 0.03, carina + 0.06)), 0.006, 0.9)
    if "pacemaker" in kinds:
        gx, gy = a.mid + 0.26, a.top + 0.12
        can = np.array([[gx - 0.03, gy], [gx + 0.03, gy]])
        draw(can, 0.06, 1.6)
        lead = bezier((gx - 0.02, gy), (a.mid - 0.02, a.top + 0.05), (a.mid + 0.02, a.base - a.dome - 0.05), 16)
        draw(lead, 0.006, 1.2)
    return out, kinds


def fracture_params(rng: np.random.Generator, a: Anatomy,
                    findings: tuple[Finding, ...]) -> tuple[int, int, float] | None:
    for f in findings:
        if f.kind == "fracture":
            return (f.side or -1, int(rng.integers(3, 7)), float(rng.uniform(0.62, 0.85)))
    return None


def draw_finding(rng: np.random.Generator, a: Anatomy, f: Finding, lung: np.ndarray, x: np.ndarray,
                 y: np.ndarray, size: int, heart: np.ndarray,
                 frac_mask: np.ndarray | None) -> tuple[Density, np.ndarray, dict[str, object]]:
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

