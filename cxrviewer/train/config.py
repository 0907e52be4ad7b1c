"""Plain-data settings, progress and results of a training run (no torch: safe for the GUI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNCERTAIN_POLICIES = ("ignore", "positive", "negative")
LOSSES = ("bce", "focal")
TASKS = ("contrastive", "labels")


class TrainCancelled(Exception):
    """The run was cancelled; the last checkpoint is kept and ``resume`` goes on from it."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. Saved in each checkpoint so ``resume`` can refuse a
    checkpoint made with different model settings instead of silently mixing them.

    ``out`` defaults to ``<models dir>/<name>``, ``run_dir`` (checkpoints, metrics.csv, curves)
    to ``<data dir>/training/<name>``.
    """

    library: Path
    image_encoder: str
    text_encoder: str = ""
    name: str = ""
    out: Path | None = None
    run_dir: Path | None = None
    image_weights: str = ""  # a local .safetensors/.pth for the timm tower; never downloaded
    timm_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 32
    accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 0
    embed_dim: int = 128
    image_size: int = 224
    max_text_length: int = 64
    text_pooling: str = "mean"
    amp: bool = True
    patience: int = 0  # epochs without improvement before stopping; 0 = never stop early
    device: str | None = None
    resume: bool = False
    overwrite: bool = False
    checkpoint_every: int = 0  # also checkpoint every N optimizer steps (0: at epoch ends only)
    seed: int = 0
    augment: bool = True
    register: bool = True
    # labels (the ``labels`` task, or a joint label head beside the contrastive loss)
    label_weight: float = 0.0  # contrastive task: weight of an auxiliary label loss (0: none)
    loss: str = "bce"
    focal_gamma: float = 2.0
    uncertain: str = "ignore"
    min_positives: int = 2  # a label needs this many positive training cases to get an output
    folds: int = 0  # labels task: also report K-fold patient-grouped cross-validation (0/1: off)
    licence: str = "trained locally; same terms as the library's data"

    def __post_init__(self) -> None:
        if self.uncertain not in UNCERTAIN_POLICIES:
            raise ValueError(f"uncertain must be one of {UNCERTAIN_POLICIES}, not {self.uncertain!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.text_pooling not in ("mean", "cls"):
            raise ValueError("text_pooling must be 'mean' or 'cls'")
        for key in ("epochs", "batch_size", "accum", "embed_dim", "image_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be at least 1")

    @property
    def model_name(self) -> str:
        if self.name:
            return self.name
        return Path(self.out).name if self.out is not None else "trained"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("library", "out", "run_dir"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainProgress:
    """One progress report: ``stage`` is "loading", "training", "validating" or "saving"."""

    stage: str
    epoch: int  # 0-based epoch now running
    epochs: int
    step: int  # optimizer steps done
    total_steps: int
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    done: int = 0  # for "loading": images decoded so far
    total: int = 0


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    model_dir: Path | None
    run_dir: Path
    name: str
    epochs_run: int
    steps: int
    best_epoch: int
    best_metrics: dict[str, float]
    history: tuple[dict[str, float], ...]
    seconds: float
    stopped_early: bool = False
    folds: tuple[dict[str, float], ...] = ()


ProgressFn = Callable[[TrainProgress], None]
CancelFn = Callable[[], bool]
