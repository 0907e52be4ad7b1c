"""Loss functions: symmetric InfoNCE with soft targets, masked BCE / focal loss for labels."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_loss(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor,
              groups: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of (image, text) pairs.

    ``groups`` marks pairs whose report text is identical: those texts are all correct answers
    for each other's images (soft targets spread over the group), so a batch holding two
    word-for-word normal reports does not push apart films that should be close.
    """
    image = F.normalize(image.float(), dim=-1)
    text = F.normalize(text.float(), dim=-1)
    logits = scale.float() * image @ text.T
    if groups is None:
        target = torch.eye(logits.shape[0], device=logits.device)
    else:
        target = (groups[:, None] == groups[None, :]).float()
    target = target / target.sum(dim=1, keepdim=True)
    i2t = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    t2i = -(target * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return (i2t + t2i) / 2


def label_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
               pos_weight: torch.Tensor | None = None, kind: str = "bce", gamma: float = 2.0
               ) -> torch.Tensor:
    """Per-entry BCE (``pos_weight`` for rare findings) or focal loss, averaged over the
    entries ``mask`` keeps (uncertain labels under the "ignore" policy are masked out)."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight, reduction="none")
    if kind == "focal":
        p = torch.sigmoid(logits)
        p_true = torch.where(targets > 0.5, p, 1 - p)
        bce = bce * (1 - p_true).pow(gamma)
    return (bce * mask).sum() / mask.sum().clamp(min=1.0)
