"""The decoded image the viewer works with: pixels in the form pyqtgraph's fast path needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxrviewer.imaging.records import ImageHeader, PixelSpacing, TagNode, VoiPreset


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """One decoded image (all its frames) plus what is needed to display and measure it.

    ``display_pixels`` is what goes to ``ImageItem.setImage`` unchanged, so window/level never
    touches the full image: grey images keep their stored integers (uint8/uint16; signed data is
    shifted by +32768 to stay uint16), or the Modality LUT Sequence output when the file has one.
    ``display = display_scale * modality + display_offset`` converts a VOI window (modality units)
    into pyqtgraph levels. Data of more than 16 bits is kept as float32 modality values.

    Attributes
    ----------
    pixels
        Stored values, (frames, rows, cols); colour images are (frames, rows, cols, 3) uint8 RGB.
    sample_range, robust_range
        Min/max and the 0.5/99.5 percentiles of frame 0 on a ``[::8, ::8]`` subsample, in
        modality units: the basis of the "Full range"/"Auto" presets and drag sensitivity.
    file_presets, presets
        The file's own windows / VOI LUTs, and those followed by the standard ones.
    """

    header: ImageHeader
    pixels: np.ndarray
    display_pixels: np.ndarray
    display_scale: float = 1.0
    display_offset: float = 0.0
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    rescale_type: str = ""
    has_modality_lut: bool = False
    is_color: bool = False
    invert: bool = False
    sample_range: tuple[float, float] = (0.0, 255.0)
    robust_range: tuple[float, float] = (0.0, 255.0)
    file_presets: tuple[VoiPreset, ...] = ()
    presets: tuple[VoiPreset, ...] = ()
    spacing: PixelSpacing | None = None
    spacing_note: str = ""
    warnings: tuple[str, ...] = ()
    tags: tuple[TagNode, ...] = ()
    sop_class_name: str = ""

    @property
    def units(self) -> str:
        """Units of modality values for the readout ("HU" for CT, "" for arbitrary units)."""
        return self.rescale_type

    @property
    def frames(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def columns(self) -> int:
        return int(self.pixels.shape[2])

    def to_display(self, modality_value: float) -> float:
        """Modality value -> value in ``display_pixels`` units (for pyqtgraph levels)."""
        return self.display_scale * float(modality_value) + self.display_offset

    def to_modality(self, display_value: float) -> float:
        """Inverse of :meth:`to_display`."""
        return (float(display_value) - self.display_offset) / self.display_scale

    def stored_value(self, frame: int, row: int, col: int) -> int | float | tuple[int, ...]:
        """The value stored in the file at a pixel (a tuple of R, G, B for colour)."""
        value = self.pixels[frame, row, col]
        if self.is_color:
            return tuple(int(v) for v in value)
        return int(value) if np.issubdtype(self.pixels.dtype, np.integer) else float(value)

    def modality_value(self, frame: int, row: int, col: int) -> float:
        """The pixel's modality value (HU on CT); colour images give the mean of R, G, B."""
        if self.is_color:
            return float(np.mean(self.pixels[frame, row, col]))
        return self.to_modality(float(self.display_pixels[frame, row, col]))
