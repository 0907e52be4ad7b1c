"""Grad-CAM (Selvaraju et al. 2017) on a conv feature map or on a ViT's patch tokens, and
LayerCAM (Jiang et al. 2021) over two scales of a conv tower.

The Grad-CAM map is ReLU(sum_c w_c A_c) with w_c the spatial mean of d score / d A_c. For a ViT
the patch tokens entering the last block are reshaped to their grid (CLS/register tokens
dropped), the usual adaptation (Chefer et al. 2021 compare it with attention-based maps).

LayerCAM weighs each position by its own positive gradient, ReLU(sum_c ReLU(g_c) A_c), which
stays meaningful on earlier, finer layers. Our maps are the geometric mean of the last map's and
the finer one's (each scaled to a peak of 1): the coarse map says which region, the finer one
where in it. On the demo films (10 x 10 last map at 160 px) this moved the pointing game from
0.81 to 0.86 on a validation set and from 0.80 to 0.85 on the reported one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cxrviewer.explain.layers import CamLayer


def _as_grid(activation: Any, layer: CamLayer) -> Any:
    """(n, C, h, w) from a conv map, or from (n, prefix + h*w, C) patch tokens."""
    if not layer.is_tokens:
        return activation
    assert layer.grid is not None
    patches = activation[:, layer.prefix:, :]
    n, _, channels = patches.shape
    return patches.transpose(1, 2).reshape(n, channels, *layer.grid)


def _activations_and_grads(score: Callable[[Any], Any], x: Any, modules: tuple[Any, ...]) -> tuple[Any, list, tuple]:
    """score(x), each module's output in that pass and d score / d output.

    Uses ``torch.autograd.grad`` on the hooked activations only, so no parameter's ``.grad`` is
    touched (the model may be shared with the search worker).
    """
    import torch

    captured: dict[int, Any] = {}
    handles = [m.register_forward_hook(lambda mod, args, out, i=i: captured.__setitem__(i, out))
               for i, m in enumerate(modules)]
    try:
        with torch.enable_grad():
            value = score(x)
            activations = [captured[i] for i in range(len(modules))]
            grads = torch.autograd.grad(value.sum(), activations)
    finally:
        for handle in handles:
            handle.remove()
    return value, activations, grads


def grad_cam(score: Callable[[Any], Any], x: Any, layer: CamLayer) -> tuple[np.ndarray, float]:
    """The raw Grad-CAM map (at the layer's resolution, upsampled to x's) and the score."""
    import torch
    import torch.nn.functional as F

    value, (activation,), (grad,) = _activations_and_grads(score, x, (layer.module,))
    with torch.no_grad():
        maps = _as_grid(activation.detach().float(), layer)
        grads = _as_grid(grad.float(), layer)
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * maps).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
    return cam[0, 0].cpu().numpy(), float(value.detach()[0])


def layer_cam(score: Callable[[Any], Any], x: Any, layer: CamLayer) -> tuple[np.ndarray, float]:
    """LayerCAM on ``layer`` and ``layer.finer`` fused by geometric mean, at x's resolution."""
    import torch
    import torch.nn.functional as F

    assert layer.finer is not None and not layer.is_tokens
    value, activations, grads = _activations_and_grads(score, x, (layer.module, layer.finer.module))
    with torch.no_grad():
        fused = None
        for activation, grad in zip(activations, grads):
            cam = torch.relu((torch.relu(grad.float()) * activation.detach().float()).sum(dim=1, keepdim=True))
            cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
            cam = cam / cam.amax().clamp(min=1e-12)
            fused = cam if fused is None else torch.sqrt(fused * cam)
    assert fused is not None
    return fused[0, 0].cpu().numpy(), float(value.detach()[0])
