"""Plain data of the saliency API: targets, the map, cancellation, and the map on the film grid.

Light (numpy and Pillow only): the GUI receives :class:`SaliencyMap` objects across threads and
draws them over the film with :func:`to_film_grid`, without importing torch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

METHODS = ("auto", "layercam", "gradcam", "attention", "ig")


class Cancelled(Exception):
    """Raised by :func:`cxrviewer.explain.explain` when ``should_cancel()`` turned true between
    steps (a newer request superseded this one)."""


@dataclass(frozen=True)
class TextTarget:
    """Explain cos(image embedding, text embedding): where in the film does ``text`` match?"""

    text: str

    @property
    def key(self) -> tuple[str, str]:
        return ("text", self.text.strip())

    def describe(self) -> str:
        return f"similarity to text {self.text.strip()!r}"


@dataclass(frozen=True, eq=False)
class EmbeddingTarget:
    """Explain cos(image embedding, ``vector``), e.g. another film's embedding (image to image).

    ``name`` says whose embedding it is (a case id) for the caption and the cache key.
    """

    vector: np.ndarray
    name: str = "embedding"

    @property
    def key(self) -> tuple[str, str]:
        digest = hashlib.sha1(np.ascontiguousarray(self.vector, dtype=np.float32).tobytes()).hexdigest()[:16]
        return ("embedding", f"{self.name}:{digest}")

    def describe(self) -> str:
        return f"similarity to {self.name}"


@dataclass(frozen=True)
class LabelTarget:
    """Explain one output of a label head or classifier: a label name (looked up in the
    model's ``label_names``) or an output index. The pre-sigmoid logit is explained, as Grad-CAM
    does, because the probability's gradient vanishes when the model is confident."""

    label: str | int

    @property
    def key(self) -> tuple[str, str]:
        return ("label", str(self.label))

    def describe(self) -> str:
        return f"label {self.label}"


Target = TextTarget | EmbeddingTarget | LabelTarget


@dataclass(frozen=True, eq=False)
class SaliencyMap:
    """A saliency map at the model input's resolution (the square ``model_input`` of a film).

    Attributes
    ----------
    values : np.ndarray
        float32 (size, size) in [0, 1]; 1 is the strongest evidence for the target. All zeros
        when nothing in the image raises the target's score.
    method : str
        "layercam", "gradcam", "attention" or "ig" (what "auto" resolved to).
    target : str
        What was explained, in words.
    seconds : float
        Time taken to compute it.
    score : float
        The explained score for this film (cosine similarity or logit).
    layer : str
        The module the map was read from (Grad-CAM / attention), "" for IG.
    """

    values: np.ndarray
    method: str
    target: str
    seconds: float
    score: float = float("nan")
    layer: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))


def normalise(values: np.ndarray) -> np.ndarray:
    """Positive part scaled so the maximum is 1 (all zeros stay zeros), float32."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    values = np.maximum(values, 0.0)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def to_film_grid(saliency: SaliencyMap | np.ndarray, rows: int, cols: int, fit: str = "squash") -> np.ndarray:
    """The map laid on the film's pixel grid (rows, cols), float32 in [0, 1].

    ``fit`` is how the film became the model's input (:mod:`cxrviewer.models.film_fit`): for the
    default squash, stretching the map back to (rows, cols) puts every value over the film pixels
    it was computed from; torchxrayvision's central square covers only part of the film (0 over
    the rest), and a padded input covers more than the film.
    """
    from cxrviewer.models.film_fit import map_on_film

    values = saliency.values if isinstance(saliency, SaliencyMap) else np.asarray(saliency)
    values = np.ascontiguousarray(values, dtype=np.float32)
    if fit == "squash" and values.shape == (rows, cols):
        return values.copy()
    return map_on_film(values, fit, int(rows), int(cols))
