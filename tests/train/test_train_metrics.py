"""AUROC, F1 and paired recall against hand-computed values; LR schedule; curve files."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.train.curves import write_curves
from cxrviewer.train.metrics import auroc, f1_score, paired_recall, per_label_metrics


def test_auroc_hand_computed() -> None:
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    # pairs (pos, neg): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3 of 4
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # positives 0.5, 0.9 vs negatives 0.2, 0.5: 1 + 0.5 (the tie counts a half) + 1 + 1 -> 3.5 / 4
    assert auroc([0, 1, 0, 1], [0.2, 0.5, 0.5, 0.9]) == pytest.approx(0.875)
    assert auroc([1, 1, 0], [0.3, 0.3, 0.3]) == pytest.approx(0.5)
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_auroc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60), 1)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (pos.size * neg.size)
    assert auroc(y, s) == pytest.approx(pairwise)


def test_f1_and_per_label_masks_uncertain() -> None:
    assert f1_score([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.5)
    assert math.isnan(f1_score([0, 0], [0, 0]))
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0]], np.float32)
    probs = np.array([[0.9, 0.2], [0.1, 0.7], [0.6, 0.9], [0.2, 0.1]], np.float32)
    mask = np.ones_like(targets)
    mask[2, 1] = 0  # an uncertain label left out: without it "B" would not rank perfectly
    out = per_label_metrics(targets, probs, mask, ["A", "B"])
    assert out["auroc/A"] == 1.0 and out["auroc/B"] == 1.0 and out["auroc_mean"] == 1.0
    assert out["f1/A"] == 1.0


def test_paired_recall_counts_identical_texts_as_hits() -> None:
    image = np.eye(3, dtype=np.float32)
    text = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32)  # texts 0 and 1 swapped
    distinct = paired_recall(image, text, [0, 1, 2], ks=(1,))
    assert distinct["i2t_r@1"] == pytest.approx(1 / 3)
    same_words = paired_recall(image, text, [0, 0, 2], ks=(1,))  # cases 0 and 1 share one text
    assert same_words["i2t_r@1"] == 1.0 and same_words["t2i_r@1"] == 1.0


def test_lr_schedule_warms_up_then_decays() -> None:
    from cxrviewer.train.loop import lr_factor

    values = [lr_factor(s, 4, 20) for s in range(21)]
    assert values[0] == pytest.approx(0.25) and values[3] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(values[4:])) and values[20] == pytest.approx(0.0)


def test_curves_are_written(tmp_path: Path) -> None:
    from PIL import Image

    history = [{"epoch": 1, "train_loss": 2.0, "val_loss": 2.1, "mean_r@5": 0.2},
               {"epoch": 2, "train_loss": 1.5, "val_loss": float("nan"), "mean_r@5": 0.4}]
    write_curves(tmp_path, history, ["mean_r@5"])
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,mean_r@5" and len(lines) == 3
    for name in ("loss.png", "metrics.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size == (640, 400)
