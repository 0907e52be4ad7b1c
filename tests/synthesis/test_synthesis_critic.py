"""The finding critic: it learns where a finding is on real films, weighs rare findings up, stays
frozen while the generator trains on its reading, and survives a resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from synthesis_helpers import tiny_config


def _blob_films(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Films with a bright disc on the left or the right half (or none), and their findings
    vectors (one finding: present, severity, left, right)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:128, :128]
    images = rng.normal(90, 8, (n, 128, 128))
    targets = np.zeros((n, 4), np.float32)
    for i in range(n):
        side = rng.integers(0, 3)  # 0 none, 1 left half of the image, 2 right half
        if side:
            cx, cy = (32 if side == 1 else 96) + rng.integers(-8, 9), 64 + rng.integers(-20, 21)
            images[i][(xx - cx) ** 2 + (yy - cy) ** 2 < 100] += 90
            targets[i] = [1, 0.5, float(side == 1), float(side == 2)]
    return images.clip(0, 255).astype(np.uint8), targets


def test_rare_findings_weigh_more_and_side_counts_only_where_present() -> None:
    from cxrviewer.synthesis.critic import FindingLoss

    targets = np.zeros((40, 8), np.float32)
    targets[:2, 0] = 1  # finding A in 2 of 40 reports
    targets[:20, 4] = 1  # finding B in half of them
    loss = FindingLoss(targets)
    assert loss.pos_weight.tolist() == [19.0, 1.0]
    # a film with neither finding: its side and severity logits cost nothing, whatever they are
    logits = torch.full((1, 8), -9.0)
    calm = loss(logits, torch.zeros(1, 8))
    logits[0, [1, 2, 3, 5, 6, 7]] = 9.0
    assert torch.isclose(loss(logits, torch.zeros(1, 8)), calm)


def test_the_shift_moves_the_films_and_keeps_their_gradient() -> None:
    from cxrviewer.synthesis.critic import SHIFT, shifted

    x = torch.zeros(2, 1, 128, 128, requires_grad=True)
    with torch.no_grad():
        x[:, :, 60:68, 60:68] = 1
    moved = [shifted(x, torch.Generator().manual_seed(s)) for s in range(6)]
    assert all(m.shape == x.shape for m in moved)
    centres = {tuple(torch.nonzero(m[0, 0] > 0.5).float().mean(0).tolist()) for m in moved}
    assert len(centres) > 1 and all(abs(c - 63.5) <= SHIFT for centre in centres for c in centre)
    moved[0].sum().backward()
    assert x.grad is not None and x.grad.sum() > 0


def test_the_critic_learns_which_side_a_finding_is_on() -> None:
    from cxrviewer.synthesis.critic import FindingCritic, FindingLoss, pretrain
    from cxrviewer.synthesis.nets import to_unit
    from cxrviewer.train.metrics import auroc

    torch.manual_seed(0)
    images, targets = _blob_films(160, seed=1)
    critic = FindingCritic(4, width=8)
    seconds = pretrain(critic, images, targets, FindingLoss(targets), steps=80, batch_size=16, seed=0,
                       device=torch.device("cpu"))
    assert seconds > 0 and not any(p.requires_grad for p in critic.parameters())  # frozen after
    test_images, test_targets = _blob_films(60, seed=2)
    with torch.no_grad():
        out = critic(to_unit(test_images, torch.device("cpu"))).numpy()
    assert auroc(test_targets[:, 0], out[:, 0]) > 0.9  # present or not
    shown = test_targets[:, 0] == 1
    assert auroc(test_targets[shown, 2], out[shown, 2]) > 0.9  # left or right


def test_the_generator_trains_on_the_frozen_critics_reading(demo_library: Path, tmp_path: Path) -> None:
    from cxrviewer.synthesis.train import GanTrainer, load_training_data

    cfg = tiny_config(demo_library, tmp_path / "g", critic_weight=1.0, critic_steps=3)
    data = load_training_data(cfg, lambda p: None)
    trainer = GanTrainer(cfg, data, tmp_path / "run", torch.device("cpu"))
    trainer.fit()
    assert trainer.critic_ready and trainer.seconds > 0
    before = [p.clone() for p in trainer.critic.parameters()]
    losses = trainer.train_step()
    assert losses["g_critic"] > 0
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.critic.parameters()))
    resumed = GanTrainer(cfg.replace(resume=True, steps=6), data, tmp_path / "run", torch.device("cpu"))
    assert resumed.restore() and resumed.critic_ready
    assert all(torch.equal(a, b) for a, b in zip(before, resumed.critic.parameters()))
    off = GanTrainer(cfg.replace(critic_weight=0.0), data, tmp_path / "off", torch.device("cpu"))
    assert off.critic is None and off.train_step()["g_critic"] == 0.0


def test_a_budget_the_critic_uses_up_still_trains_the_generator(demo_library: Path, tmp_path: Path) -> None:
    """The critic's time counts as training time; a short budget it spends by itself must not
    save a generator that never took a step."""
    from cxrviewer.synthesis.train import train_synthesis

    result = train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=0, minutes=0.0005, critic_steps=20))
    assert result.seconds >= 0.03 and result.steps >= 1
