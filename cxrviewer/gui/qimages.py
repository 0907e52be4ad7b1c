"""numpy -> QImage, on the GUI thread only (QImage/QPixmap are never made in a worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PySide6.QtGui import QImage


def array_to_qimage(pixels: np.ndarray) -> QImage:
    """A deep-copied QImage from a uint8 grey (h, w) or RGB (h, w, 3) array."""
    import numpy as np
    from PySide6.QtGui import QImage

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888)
    return image.copy()
