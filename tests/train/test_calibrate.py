"""Platt scaling of the label head: it recovers a known miscalibration, keeps the ranking, and
the saved model predicts exactly the calibrated probabilities."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.train.calibrate import calibrate_saved_model, calibration_error, fit_platt, log_loss
from cxrviewer.train.data import label_targets, load_cases, pos_weight
from cxrviewer.train.labels import train_labels


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_platt_recovers_a_known_scale_and_shift() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, (20000, 1))
    y = (rng.random(z.shape) < _sigmoid(0.5 * z - 1.5)).astype(np.float32)
    scale, shift = fit_platt(z, y, np.ones_like(y))
    assert abs(scale[0] - 0.5) < 0.05 and abs(shift[0] + 1.5) < 0.1


def test_undoing_the_class_weight_shift_lowers_the_error_and_keeps_the_order() -> None:
    """A head trained with pos_weight = negatives/positives reads logits shifted by log(weight)."""
    rng = np.random.default_rng(1)
    true_logits = rng.normal(-2.5, 1.5, (4000, 3))  # rare findings, ~10 % prevalence
    y = (rng.random(true_logits.shape) < _sigmoid(true_logits)).astype(np.float32)
    mask = np.ones_like(y)
    inflated = true_logits + np.log(pos_weight(y, mask))  # what class weighting does to the scale
    scale, shift = fit_platt(inflated, y, mask)
    before, after = _sigmoid(inflated), _sigmoid(scale * inflated + shift)
    assert (scale > 0).all()
    assert calibration_error(after, y, mask) < 0.02 < calibration_error(before, y, mask)
    assert log_loss(after, y, mask) < log_loss(before, y, mask)
    for j in range(3):
        assert (np.argsort(after[:, j], kind="stable") == np.argsort(before[:, j], kind="stable")).all()


def test_a_finding_with_too_few_positives_keeps_its_scale() -> None:
    z = np.linspace(-3, 3, 50)[:, None]
    y = np.zeros_like(z)
    y[[10, 40]] = 1.0  # two positives: nothing to fit
    scale, shift = fit_platt(z, y, np.ones_like(y))
    assert scale[0] == 1.0 and shift[0] == 0.0


def test_the_saved_model_predicts_the_calibrated_probabilities(tiny_config: Callable[..., Any], demo_library: Path,
                                                               tmp_path: Path) -> None:
    from cxrviewer.models.encoders import load_encoder

    config = tiny_config(text_encoder="", min_positives=1, folds=0, epochs=1)
    train_labels(config)
    recorded = json.loads((config.out / "config.json").read_text())["training"]["calibration"]
    assert recorded["films"] == "the validation split" and recorded["n"] > 0
    assert recorded["log_loss"][1] <= recorded["log_loss"][0], "fitted on these films: never worse"

    model = tmp_path / "copy"
    shutil.copytree(config.out, model)
    encoder = load_encoder(model, device="cpu")
    labels = list(encoder.label_names)
    cases = load_cases(demo_library, ["train", "valid", "test"], encoder.spec.input_size, workers=1)
    targets, mask = label_targets(cases, labels)
    before = encoder.predict_labels(list(cases.images)).astype(np.float64)
    record = calibrate_saved_model(model, list(cases.images), targets, mask, labels, "all demo films")
    after = load_encoder(model, device="cpu").predict_labels(list(cases.images))
    a = np.array([record["scale"][name] for name in labels])
    b = np.array([record["shift"][name] for name in labels])
    logits = np.log(np.clip(before, 1e-7, 1 - 1e-7) / np.clip(1 - before, 1e-7, 1))
    np.testing.assert_allclose(after, _sigmoid(a * logits + b), atol=2e-3)  # record rounds to 4 places
    assert record["log_loss"][1] <= record["log_loss"][0]
    assert json.loads((model / "config.json").read_text())["training"]["calibration"]["films"] == "all demo films"
