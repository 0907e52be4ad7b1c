"""PNG and JPEG images (exported teaching files, datasets such as CheXpert or NIH ChestX-ray14)."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from cxrviewer.imaging.generated import is_generated_png
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
            generated = is_generated_png(im.info)
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
        generated=generated,
    )


# Grey films stored as colour (R = G = B) are shown as grey, so they window, level and invert.
# A JPEG's chroma, or a PNG's channels, may stray this many levels from grey (round trips through
# YCbCr and chroma subsampling); beyond it the image is colour (an annotation, a photograph).
GREY_TOLERANCE = 2
GREY_SUBSAMPLE = 16  # every 16th row and column rules colour in at once; grey is confirmed on all
_BAND_ROWS = 256  # the full check goes by bands of rows, to keep its temporaries small


def _decode(path: str, kind: RasterKind, reduce_to: int = 0) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    draft = (reduce_to, reduce_to) if reduce_to > 0 else None
    try:
        with Image.open(path) as im:
            if kind == "jpeg" and im.mode == "RGB":
                grey_or_rgb = _jpeg_colour(path, draft)
                if grey_or_rgb is not None:
                    return grey_or_rgb
            if kind == "jpeg" and draft is not None and im.mode == "L":
                im.draft("L", draft)  # decoded at 1/2, 1/4 or 1/8 in the DCT domain, never below draft
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                arr = np.asarray(im, dtype=np.uint16)
            elif mode in ("I", "F"):
                arr = np.asarray(im)
                # 16-bit PNGs open as mode "I" (int32) in some Pillow versions
                arr = arr.astype(np.uint16) if arr.min() >= 0 and arr.max() <= 65535 else arr.astype(np.float32)
            elif mode in ("L", "1", "LA"):
                arr = np.asarray(im.convert("L"))
            else:
                rgb = np.asarray(im.convert("RGB"))
                grey = grey_of_rgb(rgb)
                arr = rgb if grey is None else grey
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"cannot decode {kind.upper()} file ({exc})") from exc
    return np.ascontiguousarray(arr)


def _jpeg_colour(path: str, draft: tuple[int, int] | None = None) -> np.ndarray | None:
    """A colour JPEG decoded to YCbCr (libjpeg skips its RGB conversion): its luminance when the
    chroma is neutral, i.e. a grey film saved as colour, else RGB. None when this JPEG cannot be
    decoded that way (e.g. one stored in RGB, not YCbCr); the caller then decodes it as usual."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.draft("YCbCr", draft)
            if im.mode != "YCbCr":
                return None
            im.load()
            ycc = np.asarray(im)
            if _within(ycc, lambda band: np.abs(band[..., 1:].astype(np.int16) - 128).max()):
                return np.ascontiguousarray(ycc[..., 0])
            return np.asarray(im.convert("RGB"))
    except OSError:
        return None


def grey_of_rgb(rgb: np.ndarray) -> np.ndarray | None:
    """The grey image an RGB array holds when its channels agree (within ``GREY_TOLERANCE``):
    the channel itself when they are equal, else the ITU-R 601 luma Pillow's "L" uses; None for
    a colour image."""
    def spread(band: np.ndarray) -> int:
        wide = band.astype(np.int16)
        return int(max(np.abs(wide[..., 0] - wide[..., 1]).max(), np.abs(wide[..., 1] - wide[..., 2]).max()))

    if not _within(rgb, spread):
        return None
    if all(np.array_equal(rgb[start:start + _BAND_ROWS, :, 0], rgb[start:start + _BAND_ROWS, :, c])
           for start in range(0, rgb.shape[0], _BAND_ROWS) for c in (1, 2)):
        return np.ascontiguousarray(rgb[..., 0])
    wide = rgb.astype(np.uint32)
    luma = (wide[..., 0] * 19595 + wide[..., 1] * 38470 + wide[..., 2] * 7471 + 32768) >> 16
    return luma.astype(np.uint8)


def _within(pixels: np.ndarray, spread) -> bool:
    """``spread(part) <= GREY_TOLERANCE`` on a subsample first (colour is usually found there at
    once), then on every row, band by band."""
    if pixels.size == 0 or spread(pixels[::GREY_SUBSAMPLE, ::GREY_SUBSAMPLE]) > GREY_TOLERANCE:
        return False
    return all(spread(pixels[start:start + _BAND_ROWS]) <= GREY_TOLERANCE
               for start in range(0, pixels.shape[0], _BAND_ROWS))


def load_image(path: str, kind: RasterKind, reduce_to: int = 0) -> LoadedImage:
    """A PNG/JPEG as a one-frame image: grey stays grey (8 or 16 bit), and so does a grey film
    stored as colour (R = G = B); anything else is RGB.

    ``reduce_to`` > 0 asks only for what a ``reduce_to`` px target needs: a JPEG is then decoded
    at 1/2, 1/4 or 1/8 scale in the DCT domain (Pillow's draft mode), never below ``reduce_to`` on
    its shorter side; a 2,500 x 3,000 film for a 256 px thumbnail decodes at 1/8, several times
    faster. The header keeps the film's true size; the pixels are the reduced ones.
    """
    from cxrviewer.imaging.display import presets_for
    from cxrviewer.imaging.ranges import display_ranges as _ranges

    header = read_header(path, kind)
    arr = _decode(path, kind, reduce_to)
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
