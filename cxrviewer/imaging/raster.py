"""PNG and JPEG images (exported teaching files, datasets such as CheXpert or NIH ChestX-ray14)."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from cxrviewer.imaging.loaded import LoadedImage
from cxrviewer.imaging.records import ImageHeader, ImageReadError

RasterKind = Literal["png", "jpeg"]


def read_header(path: str, kind: RasterKind) -> ImageHeader:
    """Size and mode only: ``Image.open`` parses the header and leaves the pixels on disk."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            mode = im.mode
            frames = int(getattr(im, "n_frames", 1) or 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"unreadable {kind.upper()} file ({exc})") from exc
    colour = mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LA", "PA")
    bits = 16 if mode.startswith("I") else 8
    return ImageHeader(
        path=path,
        kind=kind,
        rows=height,
        columns=width,
        frames=frames,
        samples_per_pixel=3 if colour else 1,
        bits_allocated=bits,
        bits_stored=bits,
        photometric="RGB" if colour else "MONOCHROME2",
        file_size=os.path.getsize(path),
    )


def _decode(path: str, kind: RasterKind) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                arr = np.asarray(im, dtype=np.uint16)
            elif mode in ("I", "F"):
                arr = np.asarray(im)
                # 16-bit PNGs open as mode "I" (int32) in some Pillow versions
                arr = arr.astype(np.uint16) if arr.min() >= 0 and arr.max() <= 65535 else arr.astype(np.float32)
            elif mode in ("L", "1"):
                arr = np.asarray(im.convert("L"))
            elif mode == "LA":
                arr = np.asarray(im.convert("L"))
            else:
                arr = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"cannot decode {kind.upper()} file ({exc})") from exc
    return np.ascontiguousarray(arr)


def load_image(path: str, kind: RasterKind) -> LoadedImage:
    """A PNG/JPEG as a one-frame image: grey stays grey (8 or 16 bit), anything else is RGB."""
    from cxrviewer.imaging.dicom import _ranges
    from cxrviewer.imaging.display import presets_for

    header = read_header(path, kind)
    arr = _decode(path, kind)
    is_color = arr.ndim == 3
    pixels = arr[np.newaxis]
    bits = 16 if pixels.dtype == np.uint16 else 8
    import dataclasses

    header = dataclasses.replace(
        header,
        samples_per_pixel=3 if is_color else 1,
        photometric="RGB" if is_color else "MONOCHROME2",
        bits_allocated=bits,
        bits_stored=bits,
        frames=1,
    )
    sample, robust = _ranges(pixels, 1.0, 0.0, is_color)
    image = LoadedImage(
        header=header,
        pixels=pixels,
        display_pixels=pixels,
        is_color=is_color,
        sample_range=sample,
        robust_range=robust,
        spacing_note="PNG/JPEG files carry no calibration: lengths in pixels",
        sop_class_name=f"{kind.upper()} image",
    )
    return dataclasses.replace(image, presets=presets_for(image))
