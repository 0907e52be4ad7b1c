"""Multi-label finding classifier: a timm tower -> embedding -> one logit per finding.

Targets come from the library's report labels; uncertain mentions follow a stated policy
(``ignore`` masks them out of the loss and the metrics, ``positive``/``negative`` are U-Ones
and U-Zeros). Rare findings are weighted by ``pos_weight`` = negatives / positives. Validation
reports per-finding AUROC and F1 (at 0.5) on the patient-disjoint valid split; ``folds`` adds a
patient-grouped K-fold cross-validation over train + valid.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import torch

from cxrviewer.fileio import atomic_write_text
from cxrviewer.train import runner
from cxrviewer.train.config import CancelFn, ProgressFn, TrainConfig, TrainProgress, TrainResult
from cxrviewer.train.data import CaseSet, concat, label_targets, patient_folds, pos_weight, present_labels
from cxrviewer.train.loop import Loop, LoopResult
from cxrviewer.train.losses import label_loss
from cxrviewer.train.metrics import per_label_metrics
from cxrviewer.train.model import Batcher, JointModel, create_image_tower, image_normalisation


class LabelTask:
    """Films -> finding logits; validation is per-finding AUROC/F1."""

    monitor = "auroc_mean"
    plot_keys = ("auroc_mean", "f1_mean")

    def __init__(self, model: JointModel, train: CaseSet, valid: CaseSet, labels: list[str],
                 batcher: Batcher, cfg: TrainConfig) -> None:
        self.model, self.train, self.valid = model, train, valid
        self.labels, self.batcher, self.cfg = labels, batcher, cfg
        self.n_train = len(train)
        targets, mask = label_targets(train, labels, cfg.uncertain)
        self.targets, self.mask = torch.from_numpy(targets), torch.from_numpy(mask)
        self.pos_weight = torch.from_numpy(pos_weight(targets, mask))
        self.valid_targets, self.valid_mask = label_targets(valid, labels, cfg.uncertain)

    def _logits(self, films: np.ndarray, augment: bool) -> torch.Tensor:
        assert self.model.label_head is not None
        return self.model.label_head(self.model.encode_image(self.batcher.images(films, augment)))

    def loss(self, index: np.ndarray) -> torch.Tensor:
        device, idx = self.batcher.device, torch.from_numpy(index)
        return label_loss(self._logits(self.train.images[index], self.cfg.augment), self.targets[idx].to(device),
                          self.mask[idx].to(device), self.pos_weight.to(device), self.cfg.loss,
                          self.cfg.focal_gamma)

    def validate(self) -> dict[str, float]:
        device, bs = self.batcher.device, self.cfg.batch_size
        logits = torch.cat([self._logits(self.valid.images[s:s + bs], False).float()
                            for s in range(0, len(self.valid), bs)])
        targets = torch.from_numpy(self.valid_targets).to(device)
        mask = torch.from_numpy(self.valid_mask).to(device)
        metrics = {"val_loss": float(label_loss(logits, targets, mask, self.pos_weight.to(device),
                                                self.cfg.loss, self.cfg.focal_gamma))}
        probs = torch.sigmoid(logits).cpu().numpy()
        metrics.update(per_label_metrics(self.valid_targets, probs, self.valid_mask, self.labels))
        return metrics

    def rng_state(self) -> dict[str, Any]:
        return {"augment": self.batcher.state()}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        self.batcher.set_state(state["augment"])


def _fit(cfg: TrainConfig, train: CaseSet, valid: CaseSet, labels: list[str], run_dir: Any,
         device: torch.device, progress: ProgressFn, should_cancel: CancelFn | None
         ) -> tuple[JointModel, LoopResult, tuple[float, ...], tuple[float, ...]]:
    runner.seed_everything(cfg.seed)
    tower = create_image_tower(cfg.image_encoder, cfg.timm_kwargs, cfg.image_weights)
    model = JointModel(tower, cfg.embed_dim, None, len(labels))
    mean, std = image_normalisation(tower)
    task = LabelTask(model, train, valid, labels, Batcher(mean, std, device, cfg.seed), cfg)
    return model, Loop(task, cfg, run_dir, device, progress, should_cancel).fit(), mean, std


def _cross_validate(cfg: TrainConfig, train: CaseSet, valid: CaseSet, labels: list[str], run_dir: Any,
                    device: torch.device, progress: ProgressFn, should_cancel: CancelFn | None
                    ) -> tuple[dict[str, float], ...]:
    """Best-epoch validation metrics of each of ``cfg.folds`` patient-grouped folds, then their
    mean (the last entry, with ``fold`` = 0); also written to ``cv_metrics.json``."""
    pool = concat(train, valid)
    fold_of = patient_folds(pool.patients, cfg.folds, cfg.seed)
    rows: list[dict[str, float]] = []
    for k in range(cfg.folds):
        fold_cfg = cfg.replace(register=False)
        _, loop, _, _ = _fit(fold_cfg, pool.subset(np.flatnonzero(fold_of != k)),
                             pool.subset(np.flatnonzero(fold_of == k)), labels, run_dir / f"fold-{k + 1}",
                             device, progress, should_cancel)
        best = loop.state.history[loop.state.best_epoch] if loop.state.best_epoch >= 0 else {}
        rows.append({"fold": float(k + 1), **{key: v for key, v in best.items() if key not in ("epoch", "step", "lr")}})
    keys = [key for key in rows[0] if key != "fold"] if rows else []
    mean = {"fold": 0.0, **{key: float(np.nanmean([r.get(key, np.nan) for r in rows])) for key in keys}}
    rows.append(mean)
    atomic_write_text(run_dir / "cv_metrics.json", json.dumps(rows, indent=1, default=float) + "\n")
    return tuple(rows)


def train_labels(config: TrainConfig, progress: ProgressFn | None = None,
                 should_cancel: CancelFn | None = None) -> TrainResult:
    """Train a finding classifier on the library's train split, save it with its label head
    (cxrviewer format, image-only) and register it.

    The labels are those with at least ``config.min_positives`` positive training cases. With
    ``config.folds`` >= 2 a patient-grouped cross-validation runs first (its metrics are in
    ``TrainResult.folds``); the saved model is then trained on train and validated on valid.
    """
    from cxrviewer.models.encoders import go_offline, resolve_device

    started = time.perf_counter()
    report = progress or (lambda p: None)
    go_offline()
    name, out, run_dir = runner.output_dirs(config)
    runner.check_target(config, name, out)
    device = resolve_device(config.device)
    train, valid = runner.load_splits(config, report, need_text=False)
    labels = present_labels(train, config.min_positives)
    if not labels:
        raise ValueError(f"no finding has {config.min_positives} positive training cases in {config.library}")
    folds: tuple[dict[str, float], ...] = ()
    if config.folds >= 2:
        folds = _cross_validate(config, train, valid, labels, run_dir, device, report, should_cancel)
    model, loop, mean, std = _fit(config, train, valid, labels, run_dir, device, report, should_cancel)
    report(TrainProgress("saving", loop.state.epoch, config.epochs, loop.state.step, loop.state.step))
    summary = runner.training_summary(config, "labels", loop, len(train), len(valid))
    summary["uncertain_policy"] = config.uncertain
    runner.save_model(model, None, config, out, mean, std, labels, summary)
    runner.calibrate_labels(out, valid, labels, config)
    runner.write_model_card(out, config, len(train), valid, labels)
    if config.register:
        runner.register(name, out, config.licence)
    return runner.result(config, name, out, run_dir, loop, time.perf_counter() - started, folds)
