"""Pixel arrays -> normalised model input, following an EncoderSpec.

Radiographs arrive as 2-D arrays in their own value range (12-bit DICOM, 8-bit PNG after
windowing), so each image is scaled to [0, 1] from its own range (uint8 is taken as already
windowed: /255), resized to the model's square input with an antialiased interpolation (so a
3000 px film does not alias down to 224 px), repeated to three channels and normalised with the
spec's mean/std. The whole image is kept (no centre crop): lung apices and costophrenic angles
sit at the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ImageInput = np.ndarray | Sequence[np.ndarray]


def as_image_list(images: ImageInput) -> list[np.ndarray]:
    """Split a batch array (n, H, W) / (n, H, W, C) or take a list; a lone 2-D array is one image."""
    if isinstance(images, np.ndarray):
        if images.ndim == 2:
            return [images]
        if images.ndim in (3, 4):
            return list(images)
        raise ValueError(f"expected images of shape (H, W), (n, H, W) or (n, H, W, C), got {images.shape}")
    return [np.asarray(image) for image in images]


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1]: uint8 / 255, anything else min-max scaled (a flat image becomes 0)."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    data = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(data.min()), float(data.max())
    if high <= low:
        return np.zeros_like(data)
    return (data - low) / (high - low)


def _channels_first(image: np.ndarray, in_chans: int) -> np.ndarray:
    """(C, H, W) with ``in_chans`` channels from a (H, W) or (H, W, C) array."""
    if image.ndim == 2:
        image = image[None]
    elif image.ndim == 3:
        if image.shape[-1] == 4:
            image = image[..., :3]
        image = np.moveaxis(image, -1, 0)
    else:
        raise ValueError(f"expected a 2-D image (or H x W x C), got shape {image.shape}")
    channels = image.shape[0]
    if channels == in_chans:
        return image
    if channels == 1:
        return np.repeat(image, in_chans, axis=0)
    if in_chans == 1:
        return image.mean(axis=0, keepdims=True)
    raise ValueError(f"cannot turn a {channels}-channel image into {in_chans} channels")


def prepare_batch(images: Sequence[np.ndarray], size: int, mean: Sequence[float], std: Sequence[float],
                  in_chans: int = 3) -> Any:
    """A float32 torch tensor (n, in_chans, size, size), normalised, on the CPU."""
    import torch
    import torch.nn.functional as F

    out = torch.empty((len(images), in_chans, size, size), dtype=torch.float32)
    for i, image in enumerate(images):
        array = _channels_first(to_unit_range(np.asarray(image)), in_chans)
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]
        if tensor.shape[-2:] != (size, size):
            tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i] = tensor[0]
    m = torch.tensor(list(mean)[:in_chans] or [0.0], dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(list(std)[:in_chans] or [1.0], dtype=torch.float32).view(1, -1, 1, 1)
    return (out - m) / s


def l2_normalise(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), float32."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def as_float16(embeddings: np.ndarray) -> np.ndarray:
    """Half-precision copy for storage (half the disk and RAM; cosine error ~1e-3)."""
    return np.asarray(embeddings, dtype=np.float16)
