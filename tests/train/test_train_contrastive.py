"""Contrastive training: the loss falls, resume is exact, interruptions lose at most an epoch,
and the saved model loads with load_encoder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cxrviewer.train import checkpoint as ckpt
from cxrviewer.train.config import TrainCancelled
from cxrviewer.train.contrastive import train_contrastive


def _same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal nested states: tensors bit for bit, everything else by value."""
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, torch.Tensor):
            assert torch.equal(x, y), key
        elif isinstance(x, dict):
            _same_state(x, y)
        elif isinstance(x, (list, tuple)) and x and isinstance(x[0], dict):
            for p, q in zip(x, y):
                _same_state(p, q)
        else:
            assert x == y, key


def test_loss_goes_down_and_model_loads(tiny_config: Callable[..., Any]) -> None:
    from cxrviewer.models.encoders import load_encoder

    config = tiny_config(epochs=4, label_weight=1.0, min_positives=1)
    result = train_contrastive(config)
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert {"i2t_r@1", "i2t_r@5", "i2t_r@10", "t2i_r@5", "mean_r@5", "auroc_mean"} <= set(result.best_metrics)
    assert (result.run_dir / "metrics.csv").read_text().count("\n") == 5
    assert (result.run_dir / "loss.png").is_file() and (result.run_dir / "metrics.png").is_file()

    encoder = load_encoder(config.out, device="cpu")
    films = np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8)
    image = encoder.encode_images(films)
    text = encoder.encode_texts(["small left pleural effusion", "normal chest"])
    assert image.shape == (3, 16) and text.shape == (2, 16)
    assert np.allclose(np.linalg.norm(image, axis=1), 1, atol=1e-5)
    assert encoder.label_names and encoder.predict_labels(films).shape == (3, len(encoder.label_names))


def test_resume_after_cancel_continues_exactly(tiny_config: Callable[..., Any], tmp_path: Path) -> None:
    reference = train_contrastive(tiny_config(run_dir=tmp_path / "ref", out=tmp_path / "ref-model"))
    full = ckpt.load(reference.run_dir / ckpt.CHECKPOINT)

    calls = {"n": 0}

    def cancel_in_second_epoch() -> bool:
        calls["n"] += 1
        return calls["n"] > 6  # 4 batches per epoch: the 3rd batch of epoch 2

    config = tiny_config(run_dir=tmp_path / "cut", out=tmp_path / "cut-model")
    with pytest.raises(TrainCancelled):
        train_contrastive(config, should_cancel=cancel_in_second_epoch)
    saved = ckpt.load(config.run_dir / ckpt.CHECKPOINT)
    assert saved["loop"]["epoch"] == 1 and saved["loop"]["batch"] == 0  # only epoch 2's work is lost
    assert saved["loop"]["step"] == full["loop"]["step"] // 2

    with pytest.raises(FileExistsError):  # a fresh start never silently discards the checkpoint
        train_contrastive(config)
    resumed = train_contrastive(config.replace(resume=True))
    assert resumed.steps == reference.steps
    final = ckpt.load(config.run_dir / ckpt.CHECKPOINT)
    _same_state(final["model"], full["model"])
    _same_state(final["optimizer"], full["optimizer"])
    _same_state(final["scheduler"], full["scheduler"])
    assert final["loop"]["history"][-1]["train_loss"] == pytest.approx(full["loop"]["history"][-1]["train_loss"])


def test_step_checkpoint_survives_a_crash_mid_epoch(tiny_config: Callable[..., Any], tmp_path: Path) -> None:
    reference = train_contrastive(tiny_config(run_dir=tmp_path / "ref", out=tmp_path / "ref-model", accum=2))
    full = ckpt.load(reference.run_dir / ckpt.CHECKPOINT)

    def crash(progress: Any) -> None:
        if progress.stage == "training" and progress.step == 3 and not progress.metrics:
            raise RuntimeError("power cut")

    config = tiny_config(run_dir=tmp_path / "crash", out=tmp_path / "crash-model", accum=2, checkpoint_every=1)
    with pytest.raises(RuntimeError, match="power cut"):
        train_contrastive(config, progress=crash)
    saved = ckpt.load(config.run_dir / ckpt.CHECKPOINT)
    assert (saved["loop"]["epoch"], saved["loop"]["batch"], saved["loop"]["step"]) == (1, 0, 2)
    train_contrastive(config.replace(resume=True))
    final = ckpt.load(config.run_dir / ckpt.CHECKPOINT)
    _same_state(final["model"], full["model"])
    _same_state(final["optimizer"], full["optimizer"])


def test_resume_refuses_other_settings(tiny_config: Callable[..., Any]) -> None:
    config = tiny_config(epochs=1)
    train_contrastive(config)
    with pytest.raises(ValueError, match="embed_dim"):
        train_contrastive(config.replace(resume=True, embed_dim=8))
