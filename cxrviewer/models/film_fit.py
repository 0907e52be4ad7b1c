"""How a film becomes a model's square input: the geometry and value range each model was
trained with, in numpy only (build workers and the GUI's worker run it without torch).

- ``squash``: the whole film resized to the square (cxrviewer's own models, CLIP, SigLIP,
  RAD-DINO: the encoders were trained on whole films; apices and angles sit at the edges).
- ``pad``: the whole film, aspect kept, centred on a black square (CheXzero's ``preprocess``).
- ``torchxrayvision``: exactly torchxrayvision's input: the 8-bit film scaled to [-1024, 1024]
  (its ``normalize(img, 255)``), its ``XRayCenterCrop`` (the central square: the model never sees
  the film's edges on the long side) and its ``XRayResizer`` (scikit-image, the same call), from the
  film at full resolution; float32 (1, size, size).

:func:`film_region` says where in the film each pixel of the input came from, so a saliency map
computed on the input lands on the right film pixels.
"""

from __future__ import annotations

import numpy as np

FITS = ("squash", "pad", "torchxrayvision")
XRV_MAX = 1024.0  # torchxrayvision's value range is [-1024, 1024]


def needs_full_resolution(fit: str) -> bool:
    """Whether the fit must start from the film at full resolution (it resamples the film itself)."""
    return fit == "torchxrayvision"


def fit_film(film: np.ndarray, size: int, fit: str) -> np.ndarray:
    """The model's input from a windowed uint8 film (any size): uint8 (size, size) for ``squash``
    and ``pad``; float32 (1, size, size) in torchxrayvision's range for ``torchxrayvision``."""
    if fit == "squash":
        return squash(film, size)
    if fit == "pad":
        return pad(film, size)
    if fit == "torchxrayvision":
        return xrv_resize(center_crop(xrv_scaled(film)), size)
    raise ValueError(f"unknown film fit {fit!r}; one of {', '.join(FITS)}")


def squash(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resized to ``size`` x ``size`` without cropping."""
    from PIL import Image

    if pixels.shape[0] == size and pixels.shape[1] == size:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None))


def pad(pixels: np.ndarray, size: int) -> np.ndarray:
    """Longest side ``size`` (Lanczos, as CheXzero's PIL ANTIALIAS), centred on black."""
    from PIL import Image

    rows, cols = pixels.shape[:2]
    scale = size / max(rows, cols)
    new_rows, new_cols = max(1, int(rows * scale)), max(1, int(cols * scale))
    small = np.asarray(Image.fromarray(pixels).resize((new_cols, new_rows), Image.Resampling.LANCZOS))
    out = np.zeros((size, size, *pixels.shape[2:]), dtype=pixels.dtype)
    top, left = (size - new_rows) // 2, (size - new_cols) // 2
    out[top:top + new_rows, left:left + new_cols] = small
    return out


def xrv_scaled(image: np.ndarray) -> np.ndarray:
    """(1, H, W) float32 in torchxrayvision's range, as ``xrv.utils.normalize(img, 255)`` then
    ``img.mean(2)[None]`` for colour (its README's recipe). uint8 is the windowed film (the app's
    input); other dtypes are scaled from their own range first, as every encoder does."""
    from cxrviewer.models.preprocess import to_unit_range

    image = np.asarray(image)
    if image.dtype == np.uint8:
        scaled = (2 * (image.astype(np.float32) / 255) - 1.0) * XRV_MAX  # normalize(img, 255), same order
    else:
        scaled = ((2 * to_unit_range(image) - 1.0) * XRV_MAX).astype(np.float32)
    if scaled.ndim == 3:
        scaled = scaled[..., :3].mean(2)
    if scaled.ndim != 2:
        raise ValueError(f"expected a 2-D image (or H x W x C), got shape {image.shape}")
    return scaled[None, ...]


def center_crop(image: np.ndarray) -> np.ndarray:
    """torchxrayvision's ``XRayCenterCrop``: the central square of a (1, H, W) image."""
    _, rows, cols = image.shape
    side = min(rows, cols)
    top, left = rows // 2 - side // 2, cols // 2 - side // 2
    return image[:, top:top + side, left:left + side]


def xrv_resize(image: np.ndarray, size: int) -> np.ndarray:
    """torchxrayvision's ``XRayResizer(size)`` (its default scikit-image engine, the same call)."""
    import warnings

    import skimage.transform

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skimage.transform.resize(image, (1, size, size), mode="constant",
                                        preserve_range=True).astype(np.float32)


def film_region(fit: str, rows: int, cols: int) -> tuple[float, float, float, float]:
    """(top, left, height, width) of the square input over the film, in film pixels: the whole
    film (squash), its central square (torchxrayvision), or a square larger than the film with
    the film centred in it (pad)."""
    if fit == "torchxrayvision":
        side = min(rows, cols)
        return float(rows // 2 - side // 2), float(cols // 2 - side // 2), float(side), float(side)
    if fit == "pad":
        side = max(rows, cols)
        return -(side - rows) / 2, -(side - cols) / 2, float(side), float(side)
    return 0.0, 0.0, float(rows), float(cols)


def map_on_film(values: np.ndarray, fit: str, rows: int, cols: int) -> np.ndarray:
    """A map over the model input placed on a (rows, cols) film grid, float32 in [0, 1]: 0 where
    the model saw nothing of the film (outside torchxrayvision's central square)."""
    from PIL import Image

    top, left, height, width = film_region(fit, rows, cols)
    values = np.ascontiguousarray(values, dtype=np.float32)
    h, w = max(1, round(height)), max(1, round(width))
    stretched = np.asarray(Image.fromarray(values).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    out = np.zeros((rows, cols), np.float32)
    r0, c0 = round(top), round(left)
    src_r, src_c = max(0, -r0), max(0, -c0)
    dst_r, dst_c = max(0, r0), max(0, c0)
    n_r, n_c = min(h - src_r, rows - dst_r), min(w - src_c, cols - dst_c)
    out[dst_r:dst_r + n_r, dst_c:dst_c + n_c] = stretched[src_r:src_r + n_r, src_c:src_c + n_c]
    return np.clip(out, 0.0, 1.0)
