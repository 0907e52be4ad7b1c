"""Training a generator: the loss moves, the folder is complete, a run resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from synthesis_helpers import tiny_config


def _trainer(library: Path, tmp_path: Path, **changes):
    from cxrviewer.synthesis.train import GanTrainer, load_training_data

    cfg = tiny_config(library, tmp_path / "g", **changes)
    data = load_training_data(cfg, lambda p: None)
    return GanTrainer(cfg, data, tmp_path / "run", torch.device("cpu")), data


@pytest.mark.parametrize("arch", ["projection", "reference"])
def test_a_few_steps_move_the_losses_and_the_films(demo_library: Path, tmp_path: Path, arch: str) -> None:
    trainer, _data = _trainer(demo_library, tmp_path, arch=arch)
    z = torch.randn(4, trainer.G.z_dim, generator=torch.Generator().manual_seed(0))
    c = trainer.conditions[:4]
    trainer.G.eval()
    with torch.no_grad():
        before = trainer.G(z, c).clone()
    trainer.G.train()
    losses = []
    for _ in range(6):
        losses.append(trainer.train_step())
        trainer.step += 1
    trainer.G.eval()
    with torch.no_grad():
        after = trainer.G(z, c)
    d_losses = [entry["d_loss"] for entry in losses]
    assert all(np.isfinite(d_losses))
    assert max(d_losses) - min(d_losses) > 1e-3, d_losses  # the discriminator's loss moves
    assert (after - before).abs().mean() > 1e-4  # and so does what the generator draws


def test_the_projection_design_learns_the_findings_of_real_films(demo_library: Path, tmp_path: Path) -> None:
    """Its auxiliary head is fitted on the real films' findings: that loss falls over the steps."""
    trainer, _ = _trainer(demo_library, tmp_path, lr_g=1e-3, lr_d=1e-3)
    first = [trainer.train_step()["d_aux"] for _ in range(2)]
    for _ in range(10):
        trainer.step += 1
        last = trainer.train_step()["d_aux"]
    assert last < min(first)


def test_training_writes_weights_config_and_card(tiny_generator: Path) -> None:
    from cxrviewer.models.card import read_card

    config = json.loads((tiny_generator / "config.json").read_text())
    assert config["format"] == "cxrviewer-generator"
    assert config["arch"] == "projection"
    assert config["conditioning"]["kind"] == "findings"  # the small demo library has no joint model
    assert config["training"]["steps"] == 4
    assert (tiny_generator / "generator.safetensors").stat().st_size > 1000
    assert not list(tiny_generator.glob("*.pt"))  # weights in safetensors only
    card = read_card(tiny_generator / "card.json")
    assert card is not None and card.domain == "synthetic-demo" and not card.trained_on_real


def test_resume_continues_from_the_checkpoint(demo_library: Path, tmp_path: Path) -> None:
    from cxrviewer.synthesis.train import train_synthesis

    first = train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=2))
    with pytest.raises(FileExistsError):
        train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=4))
    resumed = train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=4, resume=True))
    assert (first.steps, resumed.steps) == (2, 4)
    with pytest.raises(ValueError, match="other settings"):
        train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=6, resume=True, width=8))


def test_a_time_bound_stops_the_run(demo_library: Path, tmp_path: Path) -> None:
    from cxrviewer.synthesis.train import train_synthesis

    result = train_synthesis(tiny_config(demo_library, tmp_path / "g", steps=0, minutes=0.001))
    assert result.steps >= 1 and result.seconds >= 0.06


def test_the_projection_generator_starts_from_the_conditional_mean_film() -> None:
    """Before any step, the generator's prior for the average condition is the training films'
    mean (in its pre-tanh space), and a condition seen with denser films draws a denser prior."""
    from cxrviewer.synthesis.nets import ProjectionGenerator

    gen = torch.Generator().manual_seed(0)
    n, d = 64, 3
    conditions = torch.randn(n, d, generator=gen)
    films = 0.3 * torch.randn(n, 1, 128, 128, generator=gen)
    films[:, :, :, 64:] += 0.3 * conditions[:, :1, None, None]  # condition 0 brightens the right half
    films = films.clamp(-0.9, 0.9)
    G = ProjectionGenerator(d, width=4)
    G.set_prior(films, conditions, ridge=1e-3)
    with torch.no_grad():
        mean_prior = G.prior(conditions.mean(0, keepdim=True))
        expected = torch.atanh(films.clamp(-0.98, 0.98)).mean(0, keepdim=True)
        assert torch.allclose(mean_prior, expected, atol=1e-4)
        up = G.prior(torch.tensor([[2.0, 0.0, 0.0]])) - G.prior(torch.tensor([[-2.0, 0.0, 0.0]]))
    assert up[..., 70:].mean() > 0.5 and up[..., :58].abs().mean() < 0.1
