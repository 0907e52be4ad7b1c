"""CLIP-style training of an image tower and a text tower on a library's film-report pairs.

Symmetric InfoNCE with a learnable temperature; optionally an auxiliary finding head on the
image embedding (``label_weight`` > 0), which gives a joint model whose image embedding is
organised by findings as well as by report wording.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from cxrviewer.train import runner
from cxrviewer.train.config import CancelFn, ProgressFn, TrainConfig, TrainProgress, TrainResult
from cxrviewer.train.data import CaseSet, label_targets, pos_weight, present_labels
from cxrviewer.train.loop import Loop
from cxrviewer.train.losses import clip_loss, label_loss
from cxrviewer.train.metrics import paired_recall, per_label_metrics
from cxrviewer.train.model import (
    Batcher,
    JointModel,
    create_image_tower,
    image_normalisation,
    load_text_tower,
)

PLOT_KEYS = ("i2t_r@1", "i2t_r@5", "i2t_r@10", "t2i_r@1", "t2i_r@5", "t2i_r@10")


class ContrastiveTask:
    """Pairs of (film, report text); validation is paired retrieval among the valid cases."""

    monitor = "mean_r@5"
    plot_keys = PLOT_KEYS

    def __init__(self, model: JointModel, tokenizer: Any, train: CaseSet, valid: CaseSet,
                 batcher: Batcher, cfg: TrainConfig, labels: list[str]) -> None:
        self.model, self.train, self.valid, self.batcher, self.cfg = model, train, valid, batcher, cfg
        self.n_train = len(train)
        self.train_tokens = _tokenize(tokenizer, train.texts, cfg.max_text_length)
        self.valid_tokens = _tokenize(tokenizer, valid.texts, cfg.max_text_length)
        self.labels = labels
        if labels and cfg.label_weight > 0:
            # the best epoch is chosen for search and for the finding head together
            self.monitor = "joint_score"
        if labels:
            self.targets, self.mask = (torch.from_numpy(a) for a in label_targets(train, labels, cfg.uncertain))
            self.valid_targets, self.valid_mask = label_targets(valid, labels, cfg.uncertain)
            self.pos_weight = torch.from_numpy(pos_weight(self.targets.numpy(), self.mask.numpy()))

    def loss(self, index: np.ndarray) -> torch.Tensor:
        device = self.batcher.device
        image = self.model.encode_image(self.batcher.images(self.train.images[index], self.cfg.augment))
        ids, mask = _batch_tokens(self.train_tokens, index, device)
        text = self.model.encode_text(ids, mask)
        groups = torch.from_numpy(self.train.text_groups[index]).to(device)
        loss = clip_loss(image, text, self.model.scale(), groups)
        if self.labels and self.cfg.label_weight > 0:
            assert self.model.label_head is not None
            idx = torch.from_numpy(index)
            loss = loss + self.cfg.label_weight * label_loss(
                self.model.label_head(image), self.targets[idx].to(device), self.mask[idx].to(device),
                self.pos_weight.to(device), self.cfg.loss, self.cfg.focal_gamma)
        return loss

    def validate(self) -> dict[str, float]:
        images, texts = [], []
        bs, device = self.cfg.batch_size, self.batcher.device
        for start in range(0, len(self.valid), bs):
            index = np.arange(start, min(start + bs, len(self.valid)))
            images.append(self.model.encode_image(self.batcher.images(self.valid.images[index])).float())
            texts.append(self.model.encode_text(*_batch_tokens(self.valid_tokens, index, device)).float())
        image, text = torch.cat(images), torch.cat(texts)
        groups = torch.from_numpy(self.valid.text_groups).to(device)
        metrics = {"val_loss": float(clip_loss(image, text, self.model.scale(), groups)),
                   "temperature": float(1.0 / self.model.scale())}
        norm = lambda t: torch.nn.functional.normalize(t, dim=-1).cpu().numpy()  # noqa: E731
        metrics.update(paired_recall(norm(image), norm(text), self.valid.text_groups))
        if self.labels and self.model.label_head is not None:
            probs = torch.sigmoid(self.model.label_head(image)).float().cpu().numpy()
            metrics.update(per_label_metrics(self.valid_targets, probs, self.valid_mask, self.labels))
            auroc = metrics.get("auroc_mean", float("nan"))
            if np.isfinite(auroc):
                metrics["joint_score"] = (metrics["mean_r@5"] + auroc) / 2
            else:
                metrics["joint_score"] = metrics["mean_r@5"]
        return metrics

    def rng_state(self) -> dict[str, Any]:
        return {"augment": self.batcher.state()}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        self.batcher.set_state(state["augment"])


def _tokenize(tokenizer: Any, texts: tuple[str, ...], max_length: int) -> dict[str, torch.Tensor]:
    tokens = tokenizer(list(texts), padding="max_length", truncation=True, max_length=max_length,
                       return_tensors="pt")
    return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}


def _batch_tokens(tokens: dict[str, torch.Tensor], index: np.ndarray, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's rows, trimmed to its longest text (padding to max_length wastes compute)."""
    idx = torch.from_numpy(np.asarray(index))
    mask = tokens["attention_mask"][idx]
    length = max(1, int(mask.sum(dim=1).max()))
    return tokens["input_ids"][idx, :length].to(device), mask[:, :length].to(device)


def train_contrastive(config: TrainConfig, progress: ProgressFn | None = None,
                      should_cancel: CancelFn | None = None) -> TrainResult:
    """Train a joint image-text model on the library's train split and save + register it.

    Parameters
    ----------
    config
        ``image_encoder`` (a timm name) and ``text_encoder`` (a local transformers folder) are
        required; see :class:`TrainConfig` for the rest.
    progress
        Called with :class:`TrainProgress` after each optimizer step and each validation.
    should_cancel
        Polled before every batch; True raises :class:`TrainCancelled` (the last checkpoint
        stays, so ``resume`` loses at most the current epoch's progress).

    Returns
    -------
    TrainResult
        Where the model went, the metric history and the best epoch's validation metrics.
    """
    from cxrviewer.models.encoders import go_offline, resolve_device

    if not config.text_encoder:
        raise ValueError("contrastive training needs a text encoder folder (--text-encoder)")
    started = time.perf_counter()
    report = progress or (lambda p: None)
    go_offline()
    name, out, run_dir = runner.output_dirs(config)
    runner.check_target(config, name, out)
    device = resolve_device(config.device)
    train, valid = runner.load_splits(config, report, need_text=True)
    labels = present_labels(train, config.min_positives) if config.label_weight > 0 else []
    runner.seed_everything(config.seed)
    tower = create_image_tower(config.image_encoder, config.timm_kwargs, config.image_weights)
    text_model, tokenizer = load_text_tower(config.text_encoder)
    positions = int(getattr(text_model.config, "max_position_embeddings", 0) or 0)
    if positions and config.max_text_length > positions:
        config = config.replace(max_text_length=positions)
    model = JointModel(tower, config.embed_dim, text_model, len(labels), config.text_pooling)
    mean, std = image_normalisation(tower)
    task = ContrastiveTask(model, tokenizer, train, valid, Batcher(mean, std, device, config.seed), config, labels)
    loop = Loop(task, config, run_dir, device, report, should_cancel).fit()
    report(TrainProgress("saving", loop.state.epoch, config.epochs, loop.state.step, loop.state.step))
    summary = runner.training_summary(config, "contrastive", loop, len(train), len(valid))
    runner.save_model(model, tokenizer, config, out, mean, std, labels, summary)
    runner.calibrate_labels(out, valid, labels, config)
    runner.write_model_card(out, config, len(train), valid, labels if model.label_head is not None else [])
    if config.register:
        runner.register(name, out, config.licence)
    return runner.result(config, name, out, run_dir, loop, time.perf_counter() - started)
