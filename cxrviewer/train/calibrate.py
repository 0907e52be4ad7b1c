"""Calibrated finding probabilities: Platt scaling of a model's label head.

The head is trained with positives weighted by negatives/positives (``data.pos_weight``), so a
rare finding weighs as much as a common one. That helps ranking, but it shifts every logit as if
each finding had a prevalence of 50 %: a film with no effusion still gets ~0.4 for it, and that
is what the findings panel would show. A per-finding ``sigmoid(a * logit + b)`` fitted on
labelled films that were not trained on puts the probabilities back on the data's scale without
changing their order (a > 0: AUROC is unchanged). ``a`` and ``b`` are folded into the head's
weights, so a calibrated model loads and runs exactly as before.

``python -m cxrviewer.train.calibrate MODEL LIBRARY`` calibrates a saved model on a library's
films; training calls :func:`calibrate_saved_model` on the validation split.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MIN_EACH_CLASS = 3  # fewer positives (or negatives) than this: the finding keeps its raw scale
PRIOR_WEIGHT = 1.0  # pulls (a, b) towards (1, 0) like one extra observation: no blow-up when separable


def fit_platt(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-finding (scale, shift) minimising the log loss of ``sigmoid(scale * logit + shift)``
    over the unmasked entries, by Newton's method on the two parameters.

    A finding with too few positives or negatives, or whose best scale is not positive (the head
    ranks it backwards on these films), keeps (1, 0).
    """
    n_labels = logits.shape[1]
    scale, shift = np.ones(n_labels), np.zeros(n_labels)
    for j in range(n_labels):
        keep = mask[:, j] > 0
        z, y = logits[keep, j].astype(np.float64), targets[keep, j].astype(np.float64)
        if min(y.sum(), len(y) - y.sum()) < MIN_EACH_CLASS:
            continue
        a, b = 1.0, 0.0
        for _ in range(100):
            p = 1.0 / (1.0 + np.exp(-(a * z + b)))
            r = p - y
            w = p * (1.0 - p)
            grad = np.array([r @ z + PRIOR_WEIGHT * (a - 1.0), r.sum() + PRIOR_WEIGHT * b])
            hess = np.array([[w @ (z * z) + PRIOR_WEIGHT, w @ z], [w @ z, w.sum() + PRIOR_WEIGHT]])
            step = np.linalg.solve(hess, grad)
            a, b = a - step[0], b - step[1]
            if np.abs(step).max() < 1e-8:
                break
        if a > 0:
            scale[j], shift[j] = a, b
    return scale, shift


def log_loss(probabilities: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    losses = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    return float((losses * mask).sum() / max(mask.sum(), 1))


def calibration_error(probabilities: np.ndarray, targets: np.ndarray, mask: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over all findings together: in each of ``bins`` equal-width
    probability bins, |mean probability - fraction positive|, weighted by the bin's share."""
    keep = mask > 0
    p, y = probabilities[keep], targets[keep]
    if p.size == 0:
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for k in range(bins):
        in_bin = which == k
        if in_bin.any():
            error += in_bin.mean() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(error)


def calibrate_saved_model(folder: Path, images: Sequence[np.ndarray], targets: np.ndarray, mask: np.ndarray,
                          labels: Sequence[str], source: str) -> dict[str, Any]:
    """Fit the head of the cxrviewer-format model in ``folder`` on these films and rewrite its
    ``labels.safetensors`` (atomically) with the scale and shift folded in; ``config.json`` records
    how, on what, and the log loss and calibration error before and after (on these same films).
    Returns that record.
    """
    from cxrviewer.models.cxrformat import LABELS_FILE, load_label_head
    from cxrviewer.models.encoders import load_encoder

    found = load_label_head(folder)
    if found is None:
        raise ValueError(f"model folder {folder} has no label head to calibrate")
    names, tensors = found
    if list(names) != list(labels):
        raise ValueError(f"model folder {folder}: its findings {names} are not the ones given ({list(labels)})")
    logits = load_encoder(folder, device="cpu").predict_labels(list(images), logits=True).astype(np.float64)
    scale, shift = fit_platt(logits, targets, mask)
    before = 1.0 / (1.0 + np.exp(-logits))
    after = 1.0 / (1.0 + np.exp(-(scale * logits + shift)))
    record = {
        "method": "Platt scaling per finding, folded into label_head", "films": source, "n": len(images),
        "log_loss": [round(log_loss(before, targets, mask), 4), round(log_loss(after, targets, mask), 4)],
        "calibration_error": [round(calibration_error(before, targets, mask), 4),
                              round(calibration_error(after, targets, mask), 4)],
        "scale": {name: round(float(a), 4) for name, a in zip(names, scale)},
        "shift": {name: round(float(b), 4) for name, b in zip(names, shift)},
    }
    _rewrite_head(folder / LABELS_FILE, tensors, scale, shift)
    _record(folder, record)
    return record


def _rewrite_head(path: Path, tensors: dict[str, Any], scale: np.ndarray, shift: np.ndarray) -> None:
    """sigmoid(a * (W x + c) + b) = sigmoid((a W) x + (a c + b))."""
    import torch
    from safetensors.torch import save_file

    weight = tensors["label_head.weight"].double()
    bias = tensors.get("label_head.bias")
    bias = bias.double() if bias is not None else torch.zeros(weight.shape[0], dtype=torch.float64)
    a, b = torch.from_numpy(scale), torch.from_numpy(shift)
    out = dict(tensors)
    out["label_head.weight"] = (weight * a[:, None]).to(tensors["label_head.weight"].dtype).contiguous()
    out["label_head.bias"] = (bias * a + b).to(tensors["label_head.weight"].dtype).contiguous()
    staging = path.with_name(path.name + ".tmp")
    save_file(out, str(staging))
    os.replace(staging, path)


def _record(folder: Path, record: dict[str, Any]) -> None:
    from cxrviewer.fileio import atomic_write_text

    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.setdefault("training", {})["calibration"] = record
    atomic_write_text(path, json.dumps(config, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.train.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a cxrviewer-format model folder with a label head")
    parser.add_argument("library", type=Path, help="a library of labelled films the model was not trained on")
    parser.add_argument("--split", action="append", default=None, help="library split(s) to use (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from cxrviewer.models.cxrformat import load_label_head
    from cxrviewer.models.formats import spec_from_folder
    from cxrviewer.train.data import label_targets, load_cases

    found = load_label_head(args.model)
    if found is None:
        parser.error(f"{args.model} has no label head")
    labels = list(found[0])
    size = spec_from_folder(args.model, fmt="cxrviewer").input_size  # from config.json, no weights loaded
    splits = args.split or ["train", "valid", "test"]
    cases = load_cases(args.library, splits, size, workers=args.workers)
    targets, mask = label_targets(cases, labels)
    record = calibrate_saved_model(args.model, list(cases.images), targets, mask, labels,
                                   f"{args.library.name} ({', '.join(splits)})")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
