"""The finding critic: a small classifier of the training films' findings that tells the generator
whether its films show what their reports ask for.

Why not the discriminator's auxiliary head alone: that head shares the discriminator's spectrally
normalised features, which are shaped by telling real from fake; on the demo library it read
real films' masses at AUROC 0.60 after 900 steps (cardiomegaly 0.78), so it could not teach the
generator to draw a 4 cm mass in the lingula. The critic is trained first, on the real training
films only (the held-out films stay unseen), with each finding weighted by its rarity so a
finding in 3 % of reports counts, and it sees each film shifted by a few pixels so that it reads
shapes, not single pixels. During the GAN's training it is frozen and reads every generated film,
shifted at random again: a pattern that fools one fixed view of a fixed network does not survive
the shift, a drawn mass does. It is a training aid only: it is kept in the checkpoint, not in the
saved generator, and the evaluation reads the films with the library's own validated model.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cxrviewer.synthesis import nets

PARTS = 4  # present, severity, left, right per finding (cxrviewer.synthesis.condition.PARTS)
SHIFT = 4  # pixels of random translation (of 128)
MAX_POS_WEIGHT = 20.0


class FindingCritic(nn.Module):
    """(n, 1, 128, 128) in [-1, 1] -> (n, findings * 4) logits. A 4 x 4 map is flattened at the
    end, as in the discriminator, so a left finding and a right one stay apart."""

    def __init__(self, n_out: int, width: int = 16) -> None:
        super().__init__()
        chans = [1, width, width * 2, width * 4, width * 4, width * 8]  # 128 -> 64, 32, 16, 8, 4 px
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(chans):
            layers += [nn.Conv2d(a, b, 3, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1] * 16, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def shifted(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The batch translated by up to SHIFT pixels (one offset per batch; edges repeated), keeping
    the gradient to the films."""
    dx, dy = (int(v) for v in torch.randint(-SHIFT, SHIFT + 1, (2,), generator=generator))
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT), mode="replicate")
    size = x.shape[-1]
    return padded[..., SHIFT + dy:SHIFT + dy + size, SHIFT + dx:SHIFT + dx + size]


class FindingLoss:
    """Binary cross-entropy over the findings vector: "present" for every film with each finding
    weighted by how rare it is (negatives / positives, at most 20), severity and side only where
    the finding is present (elsewhere they are 0 by construction and say nothing)."""

    def __init__(self, targets: np.ndarray) -> None:
        present = targets.reshape(len(targets), -1, PARTS)[..., 0] > 0
        positives = present.sum(0).clip(min=1)
        weight = np.clip((len(targets) - positives) / positives, 1.0, MAX_POS_WEIGHT)
        self.pos_weight = torch.from_numpy(weight.astype(np.float32))

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n, k = len(targets), self.pos_weight.numel()
        logits, targets = logits.float().view(n, k, PARTS), targets.view(n, k, PARTS)
        present = F.binary_cross_entropy_with_logits(logits[..., 0], targets[..., 0],
                                                     pos_weight=self.pos_weight.to(logits.device))
        where = (targets[..., :1] > 0).expand(n, k, PARTS - 1)
        if not where.any():
            return present
        details = F.binary_cross_entropy_with_logits(logits[..., 1:][where], targets[..., 1:][where])
        return present + details


def pretrain(critic: FindingCritic, images: np.ndarray, targets: np.ndarray, loss: FindingLoss, *, steps: int,
             batch_size: int, seed: int, device: torch.device,
             progress: Callable[[int, float], None] | None = None) -> float:
    """Fit the critic on the real training films (uint8, 128 px) for ``steps`` batches; returns
    the seconds it took (the generator's training time includes them)."""
    started = time.perf_counter()
    optimizer = torch.optim.Adam(critic.parameters())  # its rate is the schedule's: up to 2e-3 and down
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=max(1, steps))
    gen = torch.Generator().manual_seed(seed + 11)
    y_all = torch.from_numpy(targets)
    critic.train()
    for step in range(steps):
        idx = torch.randint(0, len(images), (batch_size,), generator=gen).numpy()
        x = shifted(nets.to_unit(images[idx], device), gen)
        x = x * (1 + 0.1 * (torch.rand(len(idx), 1, 1, 1, generator=gen).to(device) - 0.5))  # contrast +-5 %
        value = loss(critic(x), y_all[idx].to(device))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        schedule.step()
        if progress is not None and (step + 1) % 20 == 0:
            progress(step + 1, float(value.detach()))
    critic.eval()
    for p in critic.parameters():
        p.requires_grad_(False)
    return time.perf_counter() - started
