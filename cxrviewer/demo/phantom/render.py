"""Rendering a phantom film: anatomy and findings weighed into attenuation, then exposed.

Dense = bright (MONOCHROME2), 12-bit. Three random streams per film (anatomy texture, findings,
detector noise), so adding a finding changes nothing but the finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cxrviewer.demo.phantom.anatomy import (
    Anatomy,
    body_field,
    breast_field,
    clavicle_field,
    gastric_bubble_field,
    heart_field,
    hilum_field,
    lung_field,
    marking_field,
    rib_field,
    spine_field,
)
from cxrviewer.demo.phantom.findings import Finding, draw_finding, fracture_params
from cxrviewer.demo.phantom.geometry import bbox, grid, ramp, smooth_noise


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
    x, y = grid(size)
    heart = heart_field(a, x, y, size)
    lungs_raw = {s: lung_field(a, s, x, y, size) for s in (-1, 1)}
    lung = np.clip(lungs_raw[-1] + lungs_raw[1], 0, 1) * (1.0 - heart)
    masks: dict[str, np.ndarray] = {}
    details: dict[str, dict[str, object]] = {}
    fracture = fracture_params(finding_rng, a, findings)
    ribs, frac_mask = rib_field(a, x, y, size, fracture)
    markings = marking_field(rng, a, x, y, size)

    density = body_field(a, x, y, size) * 1.0
    density += 0.12 * spine_field(a, x, y, size)
    density += 0.04 * heart
    density += 0.2 * hilum_field(a, x, y) * lung
    density -= 0.72 * lung
    density -= 0.3 * gastric_bubble_field(a, x, y, size)
    density += 0.16 * clavicle_field(a, size)
    density += 0.15 * ribs * (0.45 + 0.55 * lung)  # bone shows best against air
    trachea = ramp(0.017 - np.abs(x - a.mid), 2.0 / size) * np.clip((a.top + 0.2 - y) / 0.03, 0, 1)
    density -= 0.18 * trachea
    density += breast_field(a, x, y) if a.female else 0.0
    vessel = 0.16 * markings * lung

    for f in findings:
        add, mask, info = draw_finding(finding_rng, a, f, lung, x, y, size, heart, frac_mask)
        if isinstance(add, tuple):  # a pneumothorax: (air space, pleural line)
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
    boxes = {k: bbox(m) for k, m in masks.items()}
    return Phantom(pixels, masks, boxes, details, lung > 0.5, heart > 0.5, bits)


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
