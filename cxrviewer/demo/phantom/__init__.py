"""A procedural PA chest radiograph phantom with findings drawn at known places (numpy only).

The demo dataset needs images that look enough like chest X-rays for the viewer, the search
and the saliency maps to be exercised end to end, with a ground truth (a mask per finding)
that no real dataset offers. Everything is built in normalised coordinates (x, y in [0, 1],
image left = patient right, as a PA film is read) as an attenuation map, then exposed:
dense = bright (MONOCHROME2), 12-bit.

Modules: ``geometry`` (grid, soft edges, noise, strokes), ``anatomy`` (the normal structures),
``findings`` (what can be drawn, with masks), ``render`` (weighing and exposure).
"""

from __future__ import annotations

from cxrviewer.demo.phantom.anatomy import Anatomy, ctr_for, heart_field, lung_field, sample_anatomy
from cxrviewer.demo.phantom.findings import KINDS, LOBES, SEVERITIES, Finding
from cxrviewer.demo.phantom.geometry import FIELD_MM, smooth_noise
from cxrviewer.demo.phantom.render import Phantom, measure_ctr, render

__all__ = [
    "FIELD_MM", "KINDS", "LOBES", "SEVERITIES", "Anatomy", "Finding", "Phantom", "ctr_for", "heart_field",
    "lung_field", "measure_ctr", "render", "sample_anatomy", "smooth_noise",
]
