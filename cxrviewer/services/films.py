"""The film pipeline: one way to open a film, and the decoded film handed on, never decoded again.

``open_film`` is the app's one entry point for decoding a film: compressed pixel data is
decoded in the isolated decoder process (a runaway or crashing decoder costs that process,
not the app; see :mod:`cxrviewer.imaging.isolated`), uncompressed data in the calling thread.
The viewer's film (``OpenedImage.image``) is what the model jobs receive ("similar films",
saliency, finding scores) and what the series strip's thumbnail of it is made from; and the
model's input is made from it by the encoder's spec (``library.prepare.film_input``: the
input size and the way the film is fitted to the square are the spec's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from cxrviewer.imaging.loaded import LoadedImage

def open_film(path: str) -> LoadedImage:
    """Decode a film for display (all frames), compressed data in the isolated process."""
    from cxrviewer.imaging.isolated import load_image_isolated

    return load_image_isolated(path)


def decoded(film: str | LoadedImage) -> LoadedImage:
    """The film itself: opened when given as a path, as it is when already decoded."""
    return open_film(film) if isinstance(film, str) else film


def film_path(film: str | LoadedImage) -> str:
    return film if isinstance(film, str) else film.header.path


def model_input(film: LoadedImage, spec: Any, frame: int = 0) -> np.ndarray:
    """The encoder's input for a decoded film, as its spec says (size, fit to the square)."""
    from cxrviewer.library.prepare import film_input

    return film_input(film, spec, frame)
