"""The display pipeline in the form pyqtgraph's fast path wants: levels + a small uint8 LUT.

The image is never rescaled on window/level: ``LoadedImage.display_pixels`` go to the
ImageItem as they are, and a VOI window (DICOM C.11.2.1.2, in modality units) becomes levels in
display units plus, where the curve is not a straight ramp, a LUT. ``render_uint8`` reproduces
what pyqtgraph draws (``(x - lo) * N / (hi - lo)`` truncated and clipped, then the LUT) so
thumbnails and exports match the screen.
"""

from __future__ import annotations

import numpy as np

from cxrviewer.imaging.loaded import LoadedImage
from cxrviewer.imaging.records import DisplayMapping, VoiPreset, Window

MAX_LUT = 4096
SIGMOID_LUT = 256
SIGMOID_SPAN = 1.5  # levels = c +- 1.5 w: beyond it the sigmoid is within 1 grey level of 0/255
_RAMP = np.arange(256, dtype=np.uint8)
_RAMP_INVERTED = _RAMP[::-1].copy()

CT_PRESETS = (("Lung", -600.0, 1500.0), ("Mediastinum", 50.0, 350.0), ("Bone", 400.0, 1800.0))
# Radiograph presets relative to the robust range R = [p0.5, p99.5] of the image, as
# (name, centre, width) in fractions of R along "brightness on screen" (0 = air, 1 = dense).
# Lungs sit in the darker part, the mediastinum in the brighter part; bone wants a wide window.
CXR_PRESETS = (("Lung", 0.35, 0.55), ("Mediastinum", 0.70, 0.45), ("Bone", 0.60, 1.20))


def auto_window(image: LoadedImage) -> Window:
    """Percentiles 0.5-99.5 of a [::8, ::8] subsample (computed once at load time)."""
    lo, hi = image.robust_range
    if hi <= lo:
        lo, hi = image.sample_range
    width = max(hi - lo, 1.0)
    return Window((lo + hi) / 2.0, width, "LINEAR_EXACT")


def presets_for(image: LoadedImage) -> tuple[VoiPreset, ...]:
    """The file's own windows/VOI LUTs first, then standard ones, then Full range and Auto.

    CT (HU) gets the usual lung/mediastinum/bone windows. Other grey images get the same names
    defined on their own robust range R = [p0.5, p99.5]: a fraction ``t`` of R measured from the
    dark (air) end, i.e. ``p0.5 + t*R``, or ``p99.5 - t*R`` when the image is inverted
    (MONOCHROME1: air has high stored values). See ``CXR_PRESETS`` for the fractions.
    """
    presets = list(image.file_presets)
    lo, hi = image.sample_range
    full = VoiPreset("Full range", Window((lo + hi) / 2.0, max(hi - lo, 1.0), "LINEAR_EXACT"))
    auto = VoiPreset("Auto (percentiles 0.5-99.5)", auto_window(image), source="auto")
    if image.is_color:
        return (*presets, full, auto)
    if image.rescale_type == "HU":
        presets += [VoiPreset(name, Window(c, w)) for name, c, w in CT_PRESETS]
    else:
        p_lo, p_hi = image.robust_range
        span = max(p_hi - p_lo, 1.0)
        for name, t, fw in CXR_PRESETS:
            center = p_hi - t * span if image.invert else p_lo + t * span
            presets.append(VoiPreset(name, Window(center, max(fw * span, 1.0))))
    return (*presets, full, auto)


def default_preset(image: LoadedImage) -> VoiPreset:
    """The file's first window/VOI LUT, else Auto."""
    for preset in image.presets:
        if preset.source == "file":
            return preset
    for preset in image.presets:
        if preset.source == "auto":
            return preset
    return VoiPreset("Auto (percentiles 0.5-99.5)", auto_window(image), source="auto")


def _window_span(window: Window) -> tuple[float, float, np.ndarray | None]:
    """Modality-unit levels and LUT (None = straight ramp) for one window function."""
    c, w = float(window.center), float(window.width)
    if window.function == "LINEAR_EXACT":
        w = max(w, 1e-6)
        return c - w / 2.0, c + w / 2.0, None
    if window.function == "SIGMOID":
        w = max(w, 1e-6)
        lo, hi = c - SIGMOID_SPAN * w, c + SIGMOID_SPAN * w
        centres = lo + (np.arange(SIGMOID_LUT) + 0.5) * (hi - lo) / SIGMOID_LUT
        curve = 255.0 / (1.0 + np.exp(-4.0 * (centres - c) / w))
        return lo, hi, np.clip(np.rint(curve), 0, 255).astype(np.uint8)
    w = max(w, 1.0)  # LINEAR: C.11.2.1.2.1 uses c - 0.5 and w - 1
    lo = c - 0.5 - (w - 1.0) / 2.0
    hi = c - 0.5 + (w - 1.0) / 2.0
    if hi <= lo:  # w == 1: a threshold
        hi = lo + 1e-3
    return lo, hi, None


def _voi_lut_span(preset: VoiPreset) -> tuple[float, float, np.ndarray]:
    """A VOI LUT as levels [first, first + n - 1] and the LUT scaled to uint8 (<= 4096 entries)."""
    lut = np.asarray(preset.lut, dtype=np.float64)
    n = lut.size
    first = float(preset.lut_first_mapped)
    top = float(lut.max()) if n else 1.0
    bits = max(int(top).bit_length(), 1)
    scaled = lut * (255.0 / max((1 << bits) - 1, 1))
    if n > MAX_LUT:
        pick = np.rint(np.arange(MAX_LUT) * (n - 1) / (MAX_LUT - 1)).astype(np.intp)
        scaled = scaled[pick]
    table = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    hi = first + max(n - 1, 1)
    return first, hi, table


def voi_lut_output_max(preset: VoiPreset) -> int:
    """The full-scale value the VOI LUT's entries are meant against (its bit depth)."""
    top = float(np.asarray(preset.lut).max()) if preset.lut is not None and preset.lut.size else 1.0
    return (1 << max(int(top).bit_length(), 1)) - 1


def mapping_for(image: LoadedImage, choice: VoiPreset | Window, invert: bool) -> DisplayMapping:
    """Levels (display units of ``image.display_pixels``) and a uint8 LUT for pyqtgraph.

    Parameters
    ----------
    invert
        The final inversion: the image's own (MONOCHROME1 / INVERSE) XOR the user's toggle.
    """
    lut: np.ndarray | None
    if isinstance(choice, VoiPreset) and choice.window is None and choice.lut is not None:
        lo, hi, lut = _voi_lut_span(choice)
    else:
        window = choice.window if isinstance(choice, VoiPreset) else choice
        if window is None:
            window = auto_window(image)
        if image.is_color:
            lo, hi, lut = _window_span(window) if isinstance(choice, Window) else (0.0, 255.0, None)
        else:
            lo, hi, lut = _window_span(window)
    d_lo, d_hi = image.to_display(lo), image.to_display(hi)
    if d_hi < d_lo:  # negative rescale slope: reverse the axis
        d_lo, d_hi = d_hi, d_lo
        lut = (_RAMP if lut is None else lut)[::-1].copy()
    if invert:
        lut = _RAMP_INVERTED if lut is None else (255 - lut).astype(np.uint8)
    return DisplayMapping((float(d_lo), float(d_hi)), lut)


def apply_mapping(data: np.ndarray, mapping: DisplayMapping) -> np.ndarray:
    """What pyqtgraph shows for ``data`` with these levels and LUT, as uint8."""
    lo, hi = mapping.levels
    span = (hi - lo) or 1.0
    n = 256 if mapping.lut is None else int(mapping.lut.shape[0])
    top = 255.0 if mapping.lut is None else float(n)
    scaled = (data.astype(np.float32) - np.float32(lo)) * np.float32(top / span)
    index = np.clip(scaled, 0, n - 1).astype(np.intp if mapping.lut is not None else np.uint8)
    return index if mapping.lut is None else mapping.lut[index]


def render_uint8(image: LoadedImage, frame: int, mapping: DisplayMapping) -> np.ndarray:
    """One frame as uint8 (h, w) or (h, w, 3): the same result pyqtgraph would draw."""
    return apply_mapping(image.display_pixels[frame], mapping)


def window_from_drag(window: Window, dx: float, dy: float, image: LoadedImage) -> Window:
    """New window after a mouse drag of (dx, dy) screen pixels: right widens, down raises level.

    Sensitivity is a fraction of the image's own robust range, so a drag across ~500 px sweeps
    the whole range whether the data are 8-bit or 16-bit.
    """
    lo, hi = image.robust_range
    step = max(hi - lo, 1.0) / 500.0
    width = max(1.0, window.width + dx * step)
    return Window(window.center + dy * step, width, window.function)
