"""Label training: per-finding AUROC, the uncertain policy, folds, the saved label head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.train.data import CaseSet, label_targets, patient_folds, pos_weight
from cxrviewer.train.labels import train_labels


def _cases(statuses: list[dict[str, str]]) -> CaseSet:
    n = len(statuses)
    return CaseSet(tuple(f"c{i}" for i in range(n)), tuple(f"p{i}" for i in range(n)),
                   np.zeros((n, 4, 4), np.uint8), ("",) * n, tuple(statuses), np.arange(n))


def test_uncertain_policy_and_class_weights() -> None:
    cases = _cases([{"Edema": "positive"}, {"Edema": "uncertain"}, {"Edema": "negative"}, {}])
    for policy, target, mask in (("ignore", [1, 0, 0, 0], [1, 0, 1, 1]), ("positive", [1, 1, 0, 0], [1, 1, 1, 1]),
                                 ("negative", [1, 0, 0, 0], [1, 1, 1, 1])):
        t, m = label_targets(cases, ["Edema"], policy)
        assert t[:, 0].tolist() == target and m[:, 0].tolist() == mask, policy
    t, m = label_targets(cases, ["Edema"], "ignore")
    assert pos_weight(t, m).tolist() == [2.0]  # two known negatives per positive


def test_folds_keep_patients_together() -> None:
    patients = ["a", "b", "a", "c", "d", "b", "e", "f"]
    folds = patient_folds(patients, 3)
    for p in set(patients):
        assert len({folds[i] for i, q in enumerate(patients) if q == p}) == 1
    assert set(folds.tolist()) == {0, 1, 2}


def test_train_labels_reports_auroc_per_finding(tiny_config: Callable[..., Any], tmp_path: Path) -> None:
    from cxrviewer.models.encoders import load_encoder

    config = tiny_config(text_encoder="", loss="focal", min_positives=1, folds=2, epochs=2)
    result = train_labels(config)
    aurocs = {k: v for k, v in result.best_metrics.items() if k.startswith("auroc/")}
    assert aurocs and "auroc_mean" in result.best_metrics and any(k.startswith("f1/") for k in result.best_metrics)
    assert all(np.isnan(v) or 0.0 <= v <= 1.0 for v in aurocs.values())
    assert len(result.folds) == 3 and result.folds[-1]["fold"] == 0.0  # two folds + their mean
    assert (config.run_dir / "cv_metrics.json").is_file()

    encoder = load_encoder(config.out, device="cpu")
    assert not encoder.has_text
    probs = encoder.predict_labels(np.zeros((2, 32, 32), np.uint8))
    assert probs.shape == (2, len(encoder.label_names)) and ((probs >= 0) & (probs <= 1)).all()
    assert [k.split("/", 1)[1] for k in aurocs] == list(encoder.label_names)
