"""What a saliency method needs from a model, whatever its format: a differentiable score.

:func:`explainable` wraps a loaded :class:`~cxrviewer.models.encoders.Encoder` (any format) or
any torch image classifier (``nn.Module``: pixels -> logits) as an :class:`Explainable`: the
module whose layers are hooked, a differentiable ``features(x)`` and, where there is one, a
label head. Torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxrviewer.explain.types import EmbeddingTarget, LabelTarget, Target, TextTarget

# attribute holding each format's image tower (hooks on it never see the text tower)
TOWER_ATTRS = ("image_tower", "model.vision_model", "model.visual", "model")


@dataclass
class Explainable:
    """A model seen as ``pixels -> score``.

    Attributes
    ----------
    name : str
        Model name (part of the cache key).
    root : torch.nn.Module
        The image tower: hooks are looked for in it.
    features : callable
        Normalised pixels (n, C, H, W) -> raw image features (n, d) or logits, with gradients.
    input_size, mean, std, in_chans
        How to turn a 2-D film into the model's input.
    text_embedding : callable or None
        Text -> unit vector (numpy), for :class:`TextTarget`.
    label_logits : callable or None
        Normalised pixels -> (n, labels) logits, with gradients, for :class:`LabelTarget`.
    label_names : tuple of str
        Names of the label outputs (may be empty: labels are then given by index).
    prepare_input : callable or None
        An encoder's own ``prepare_images`` (films -> input tensor), used instead of the generic
        scaling with input_size / mean / std, so a map explains exactly the input the model reads.
    """

    name: str
    root: Any
    features: Callable[[Any], Any]
    input_size: int
    mean: Sequence[float]
    std: Sequence[float]
    in_chans: int = 3
    text_embedding: Callable[[str], np.ndarray] | None = None
    label_logits: Callable[[Any], Any] | None = None
    label_names: tuple[str, ...] = ()
    prepare_input: Callable[[list[np.ndarray]], Any] | None = None  # the encoder's own prepare_images

    @property
    def device(self) -> Any:
        try:
            return next(self.root.parameters()).device
        except StopIteration:
            import torch

            return torch.device("cpu")

    def prepare(self, pixels: Any) -> Any:
        """A (1, C, size, size) float tensor on the model's device from a 2-D film (the
        library's ``model_input``, uint8) or an already normalised tensor."""
        import torch

        from cxrviewer.models.preprocess import prepare_batch

        if isinstance(pixels, torch.Tensor):
            batch = pixels if pixels.ndim == 4 else pixels[None]
        elif self.prepare_input is not None:  # the film as the encoder itself feeds it to its model
            batch = self.prepare_input([np.asarray(pixels)])
        else:
            batch = prepare_batch([np.asarray(pixels)], self.input_size, self.mean, self.std, self.in_chans)
        return batch.float().to(self.device)

    def scorer(self, target: Target) -> Callable[[Any], Any]:
        """``x -> (n,)`` scores whose gradient the methods follow."""
        import torch

        if isinstance(target, LabelTarget):
            index = self._label_index(target.label)
            logits = self.label_logits or self.features
            return lambda x: logits(x)[:, index]
        if isinstance(target, TextTarget):
            if self.text_embedding is None:
                raise ValueError(f"model {self.name!r} has no text tower: explain a label or an embedding")
            vector = self.text_embedding(target.text)
        elif isinstance(target, EmbeddingTarget):
            vector = np.asarray(target.vector, dtype=np.float32).reshape(-1)
        else:
            raise TypeError(f"unknown target {target!r}")
        unit = torch.from_numpy(vector / max(float(np.linalg.norm(vector)), 1e-12)).to(self.device)

        def cosine(x: Any) -> Any:
            feats = self.features(x).float()
            if feats.shape[-1] != unit.shape[0]:
                raise ValueError(f"target vector has {unit.shape[0]} values, the model's embedding {feats.shape[-1]}")
            return torch.nn.functional.normalize(feats, dim=-1) @ unit

        return cosine

    def _label_index(self, label: str | int) -> int:
        if isinstance(label, (int, np.integer)):
            return int(label)
        if self.label_logits is None and not self.label_names:
            raise ValueError(f"model {self.name!r} has no label head: explain a text or an embedding")
        names = [n.lower() for n in self.label_names]
        if label.lower() not in names:
            raise ValueError(f"model {self.name!r} has no label {label!r} (it has: {', '.join(self.label_names)})")
        return names.index(label.lower())


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _tower(encoder: Any) -> Any:
    import torch

    for dotted in TOWER_ATTRS:
        found = _attr(encoder, dotted)
        if isinstance(found, torch.nn.Module):
            return found
    raise ValueError(f"cannot find the image tower of {encoder!r}")


def _label_head(encoder: Any) -> tuple[Callable[[Any], Any] | None, tuple[str, ...]]:
    """The encoder's differentiable label head: ``label_logits(x)`` if it has one, else the
    ``_label_head`` that ``Encoder.predict_labels`` applies to the raw image features, else a
    ``label_head`` module on the tower features or the embedding (by input width)."""
    names = tuple(str(n) for n in (getattr(encoder, "label_names", None) or ()))
    method = getattr(encoder, "label_logits", None)
    if callable(method):
        return method, names
    head = getattr(encoder, "_label_head", None)  # Encoder.predict_labels' head: on raw features
    if head is not None:
        return (lambda x: head(encoder._image_features(x).float())), names
    head = getattr(encoder, "label_head", None)
    if head is None:
        return None, names
    width = getattr(head, "in_features", None)
    tower = getattr(encoder, "image_tower", None)
    tower_width = getattr(tower, "num_features", None)
    if tower is not None and width is not None and width == tower_width:
        return (lambda x: head(tower(x))), names
    return (lambda x: head(encoder._image_features(x))), names


def explainable(model: Any, *, name: str | None = None, input_size: int | None = None,
                mean: Sequence[float] = (0.5,), std: Sequence[float] = (0.25,), in_chans: int | None = None,
                label_names: Sequence[str] = ()) -> Explainable:
    """Wrap an encoder (any format) or a torch classifier for the saliency methods.

    Parameters
    ----------
    model
        An :class:`Explainable` (returned as is), a loaded encoder, or an ``nn.Module`` that maps
        (n, C, H, W) pixels to logits (then ``input_size``, ``mean``, ``std`` and ``in_chans``
        say how films become its input; in_chans defaults to its first conv's).
    """
    import torch

    if isinstance(model, Explainable):
        return model
    if isinstance(model, torch.nn.Module):
        model.eval()
        if in_chans is None:
            first = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
            in_chans = int(first.in_channels) if first is not None else 3
        return Explainable(name or type(model).__name__, model, model, int(input_size or 224), tuple(mean),
                           tuple(std), in_chans, label_logits=model, label_names=tuple(label_names))
    spec = model.spec
    text = None
    if spec.has_text:
        text = lambda t: model.encode_texts([t])[0]  # noqa: E731 - a one-line adaptor
    logits, names = _label_head(model)
    return Explainable(name or spec.name, _tower(model), model._image_features, int(spec.input_size),
                       tuple(spec.mean), tuple(spec.std), int(getattr(model, "in_chans", 3)), text, logits,
                       names or tuple(label_names), getattr(model, "prepare_images", None))
