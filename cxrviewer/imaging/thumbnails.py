"""Small previews for the gallery and the study list."""

from __future__ import annotations

import numpy as np

from cxrviewer.imaging.display import apply_mapping, default_preset, mapping_for
from cxrviewer.imaging.loaded import LoadedImage


def thumbnail(image: LoadedImage, size: int = 128, frame: int = 0) -> np.ndarray:
    """uint8 (h, w) or (h, w, 3), longest side ``size``, default window and inversion.

    The frame is strided down to about twice the target first, so the window and the resize
    touch ~4x the thumbnail's pixels instead of the whole radiograph.
    """
    from PIL import Image

    data = image.display_pixels[frame]
    step = max(1, max(data.shape[0], data.shape[1]) // (2 * size))
    small = data[::step, ::step]
    mapping = mapping_for(image, default_preset(image), image.invert)

    grey = np.ascontiguousarray(apply_mapping(small, mapping))
    pil = Image.fromarray(grey)
    pil.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(pil)
