"""Per-image work of a library build, run in worker processes: decode, window, shrink, encode.

Kept in its own light module (imaging only) because every worker process imports it. The
same ``model_input`` makes the encoder's input at build time and for a query film, so a film
from the user's own folder is seen by the encoder exactly as the library's films were.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

THUMB_QUALITY = 85


@dataclass(frozen=True)
class PreparedImage:
    """The thumbnail of one image as JPEG bytes (and the encoder's input when asked), or why
    the image could not be used."""

    jpeg: bytes = b""
    size: tuple[int, int] = (0, 0)
    error: str = ""
    model_input: np.ndarray | None = None
    details: tuple[tuple[str, str | None, str | None], ...] = ()  # (label, severity, laterality)


def load(path: str, reduce_to: int = 0) -> Any:
    """A film decoded for display; with ``reduce_to`` > 0, only as finely as a ``reduce_to`` px
    target needs where the format can decode at a lower resolution (JPEG: DCT scaling)."""
    if reduce_to > 0:
        from cxrviewer.imaging import sniffing

        if sniffing.sniff(path) == "jpeg":
            from cxrviewer.imaging import raster

            return raster.load_image(path, "jpeg", reduce_to)
    from cxrviewer.imaging.dicom import load_image

    return load_image(path)


def windowed(image: Any, size: int, frame: int = 0) -> np.ndarray:
    """The film as displayed by default (file window or auto, inversion applied), uint8,
    longest side ``size``."""
    from cxrviewer.imaging.thumbnails import thumbnail

    return thumbnail(image, size=size, frame=min(frame, image.frames - 1))


def square(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resized to ``size`` x ``size`` without cropping (the encoders were trained on whole films)."""
    from cxrviewer.models.film_fit import squash

    return squash(pixels, size)


def model_input(image: Any, size: int, frame: int = 0, fit: str = "squash") -> np.ndarray:
    """A decoded film as a model's input (see :mod:`cxrviewer.models.film_fit`): windowed as
    displayed by default, then fitted to the square the way the model was trained."""
    from cxrviewer.models.film_fit import fit_film, needs_full_resolution

    start = max(image.rows, image.columns) if needs_full_resolution(fit) else max(size, 64)
    return fit_film(windowed(image, start, frame), size, fit)


def film_input(image: Any, spec: Any, frame: int = 0) -> np.ndarray:
    """:func:`model_input` for the model an EncoderSpec describes."""
    return model_input(image, int(spec.input_size), frame, spec.film_fit)


def decode_and_shrink(path: str, frame: int = 0, size: int = 256, reduced: bool = True) -> np.ndarray:
    """Decode + window + resize: the part of a build that the rest must keep up with (decoding
    only what ``size`` needs unless ``reduced`` is False: the full-decode bound)."""
    return windowed(load(path, size if reduced else 0), size, frame)


def report_details(text: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """Severity and side of each finding the report states (the labeler, run here so the
    build's main process only writes)."""
    if not text:
        return ()
    from cxrviewer.reports.labeler import label_text

    return tuple((f.label, f.severity, f.laterality) for f in label_text(text).findings
                 if f.severity or f.laterality)


# (path, frame, thumbnail size, model input size or 0, report text, film fit)
PrepareJob = tuple[str, int, int, int, str, str]


def prepare_image(job: PrepareJob) -> PreparedImage:
    """``job`` is (path, frame, thumbnail size, model input size or 0, report text, film fit).
    Never raises: a bad file becomes an error text."""
    path, frame, thumb_size, model_size, report, fit = job
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd header values: the build lists real problems
            from cxrviewer.models.film_fit import needs_full_resolution

            target = max(thumb_size, model_size)
            image = load(path, 0 if model_size and needs_full_resolution(fit) else target)
            if image.header.generated:  # made by cxrviewer synthesis: never a case of a library
                from cxrviewer.imaging.generated import GENERATED_REASON

                return PreparedImage(error=GENERATED_REASON)
            preview = windowed(image, target, frame)
        from PIL import Image

        picture = Image.fromarray(preview)
        picture.thumbnail((thumb_size, thumb_size), Image.Resampling.BILINEAR, reducing_gap=None)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=THUMB_QUALITY)
        encoder_input = None
        if model_size:
            from cxrviewer.models.film_fit import fit_film

            film = windowed(image, max(image.rows, image.columns), frame) if needs_full_resolution(fit) else preview
            encoder_input = fit_film(film, model_size, fit)
        return PreparedImage(buffer.getvalue(), (picture.width, picture.height), "", encoder_input,
                             report_details(report))
    except BaseException as exc:  # pixel decoders raise Rust panics (BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        return PreparedImage(error=str(reason))


def warm_up() -> None:
    """Import the decoders in a fresh worker so the first real image does not pay for it."""
    import pydicom.pixels  # noqa: F401
    from PIL import Image  # noqa: F401

    from cxrviewer.imaging import dicom, thumbnails  # noqa: F401
