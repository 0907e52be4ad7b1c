"""``explain(model, pixels, target)``: one saliency map, by the method that suits the tower.

Torch is imported inside the functions; callers (the services worker, the eval command) hold
the model and call this off the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cxrviewer.explain.types import METHODS, Cancelled, SaliencyMap, Target, normalise


def _check(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise Cancelled("saliency cancelled")


def explain(model: Any, pixels: Any, target: Target, method: str = "auto", *,
            should_cancel: Callable[[], bool] | None = None, steps: int = 32, batch: int = 8,
            smooth: int | None = None) -> SaliencyMap:
    """A saliency map of ``target`` for one film.

    Parameters
    ----------
    model
        A loaded encoder (any format), an :class:`~cxrviewer.explain.model.Explainable`, or a
        torch classifier (wrap it with ``explainable(module, input_size=..., mean=..., std=...)``
        to say how films become its input).
    pixels
        The film as the library's ``prepare.model_input`` gives it (2-D, uint8, square) or a
        normalised (1, C, H, W) tensor. The map has the model input's resolution; use
        :func:`~cxrviewer.explain.types.to_film_grid` to lay it over the film.
    target
        :class:`TextTarget`, :class:`EmbeddingTarget` or :class:`LabelTarget`.
    method
        "auto" (LayerCAM for conv towers, else Grad-CAM; "attention" for ViTs), "layercam" (two
        scales, see :mod:`cxrviewer.explain.gradcam`), "gradcam", "attention" (Grad-CAM on a
        ViT's patch tokens) or "ig" (integrated gradients, ``steps`` steps in batches of
        ``batch``, from a black film, smoothed over ``smooth`` px: default 1/8 of the input).
    should_cancel
        Polled between steps; when it returns True, :class:`Cancelled` is raised.

    Raises
    ------
    ValueError
        Unknown method, a target the model cannot score (text on an image-only model), or
        "attention" on a tower without patch tokens.
    """
    from cxrviewer.explain.model import explainable

    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}; choose from {', '.join(METHODS)}")
    started = time.perf_counter()
    _check(should_cancel)
    wrapped = explainable(model)
    x = wrapped.prepare(pixels)
    score = wrapped.scorer(target)
    _check(should_cancel)
    if method == "ig":
        values, value, layer, extra = _ig(wrapped, score, x, steps, batch, smooth, should_cancel)
    else:
        values, value, layer, method = _cam(wrapped, score, x, method, should_cancel)
        extra = {}
    return SaliencyMap(normalise(values), method, target.describe(), time.perf_counter() - started,
                       value, layer, extra)


def _cam(wrapped: Any, score: Callable[[Any], Any], x: Any, method: str,
         should_cancel: Callable[[], bool] | None) -> tuple[Any, float, str, str]:
    from cxrviewer.explain.gradcam import grad_cam, layer_cam
    from cxrviewer.explain.layers import find_cam_layer

    layer = find_cam_layer(wrapped.root, lambda: wrapped.features(x), tuple(x.shape))
    if method == "attention" and not layer.is_tokens:
        raise ValueError(f"model {wrapped.name!r} has no patch tokens: use layercam, gradcam or ig")
    if method == "layercam" and layer.finer is None:
        raise ValueError(f"model {wrapped.name!r} has no conv feature maps at two scales: use gradcam or ig")
    if method == "auto":
        method = "attention" if layer.is_tokens else "layercam" if layer.finer is not None else "gradcam"
    _check(should_cancel)
    if method == "layercam":
        assert layer.finer is not None
        values, value = layer_cam(score, x, layer)
        return values, value, f"{layer.name} + {layer.finer.name}", method
    values, value = grad_cam(score, x, layer)
    return values, value, layer.name, method


def _ig(wrapped: Any, score: Callable[[Any], Any], x: Any, steps: int, batch: int, smooth: int | None,
        should_cancel: Callable[[], bool] | None) -> tuple[Any, float, str, dict[str, float]]:
    from cxrviewer.explain.ig import attribution_map, black_baseline, integrated_gradients

    baseline = black_baseline(x, wrapped.mean, wrapped.std)
    attributions, value, gap = integrated_gradients(score, x, baseline, steps, batch, should_cancel)
    return attribution_map(attributions, smooth), value, "", {"completeness_gap": gap, "steps": float(steps)}
