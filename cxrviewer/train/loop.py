"""The training loop shared by the contrastive and the label tasks.

It owns what every run needs and the tasks should not repeat: AdamW with warm-up + cosine
decay, gradient accumulation, mixed precision on CUDA (bf16 where supported, else fp16 with a
GradScaler), checkpoints every epoch and every N steps, exact resume, early stopping, the
metric history and curves, progress reports and cancellation.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from cxrviewer.train import checkpoint as ckpt
from cxrviewer.train.config import CancelFn, ProgressFn, TrainCancelled, TrainConfig, TrainProgress
from cxrviewer.train.curves import write_curves

# settings that change the model or the data order: a checkpoint made with others is refused
RESUME_KEYS = ("image_encoder", "text_encoder", "timm_kwargs", "embed_dim", "image_size", "batch_size",
               "accum", "seed", "label_weight", "epochs", "uncertain", "loss", "max_text_length")


class Task(Protocol):
    """What the loop trains: a model, a loss on a batch of training indices, a validation.
    (Read-only members, so a task may hold a narrower model type or a fixed tuple of keys.)"""

    @property
    def model(self) -> torch.nn.Module: ...

    @property
    def n_train(self) -> int: ...

    @property
    def monitor(self) -> str:  # the validation metric early stopping and the best model follow (higher wins)
        ...

    @property
    def plot_keys(self) -> tuple[str, ...]: ...

    def loss(self, index: np.ndarray) -> torch.Tensor: ...

    def validate(self) -> dict[str, float]: ...

    def rng_state(self) -> dict[str, Any]: ...

    def set_rng_state(self, state: dict[str, Any]) -> None: ...


@dataclass
class LoopState:
    """Counters saved in the checkpoint."""

    epoch: int = 0  # next epoch to run (0-based)
    batch: int = 0  # next batch of that epoch
    step: int = 0  # optimizer steps done
    loss_sum: float = 0.0  # this epoch's training loss so far (for a mid-epoch resume)
    loss_count: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LoopResult:
    state: LoopState
    seconds: float


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 on GPUs that have it, else fp16 (with a GradScaler); None (fp32) elsewhere."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to the base rate, then cosine decay to zero at ``total`` steps."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class Loop:
    """One run of a task; ``fit`` may be called once."""

    def __init__(self, task: Task, config: TrainConfig, run_dir: Path, device: torch.device,
                 progress: ProgressFn | None = None, should_cancel: CancelFn | None = None) -> None:
        self.task, self.cfg, self.run_dir, self.device = task, config, run_dir, device
        self.report = progress or (lambda p: None)
        self.cancelled = should_cancel or (lambda: False)
        n, bs = task.n_train, config.batch_size
        if n < 2:
            raise ValueError("the training split has fewer than 2 usable cases")
        # drop a ragged last batch when there are several: a 3-pair contrastive batch is noise
        self.batches = n // bs if n >= 2 * bs else math.ceil(n / bs)
        self.steps_per_epoch = math.ceil(self.batches / config.accum)
        self.total_steps = self.steps_per_epoch * config.epochs
        model = task.model.to(device)
        groups = model.param_groups(config.weight_decay)  # type: ignore[operator]
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, config.warmup_steps, self.total_steps))
        self.dtype = amp_dtype(device, config.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.state = LoopState()

    # -- checkpoints -----------------------------------------------------------------------

    def _checkpoint(self) -> dict[str, Any]:
        return {"model": self.task.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "loop": self.state.as_dict(), "rng": ckpt.rng_state(), "task_rng": self.task.rng_state(),
                "config": {k: self.cfg.to_dict()[k] for k in RESUME_KEYS}}

    def save(self) -> None:
        ckpt.save_atomic(self._checkpoint(), self.run_dir / ckpt.CHECKPOINT)

    def restore(self) -> bool:
        """Load ``checkpoint.pt`` when resuming; False when there is none (a fresh start)."""
        settings = {k: self.cfg.to_dict()[k] for k in RESUME_KEYS}
        data = ckpt.load_to_resume(self.run_dir / ckpt.CHECKPOINT, settings, "another --name")
        if data is None:
            return False
        self.task.model.load_state_dict(data["model"])
        self.optimizer.load_state_dict(data["optimizer"])
        self.scheduler.load_state_dict(data["scheduler"])
        self.scaler.load_state_dict(data["scaler"])
        self.state = LoopState(**data["loop"])
        ckpt.set_rng_state(data["rng"])
        self.task.set_rng_state(data["task_rng"])
        return True

    # -- running ---------------------------------------------------------------------------

    def fit(self) -> LoopResult:
        started = time.perf_counter()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not (self.cfg.resume and self.restore()):
            self._fresh_start()
        while self.state.epoch < self.cfg.epochs and not self.state.stopped_early:
            self._train_epoch()
            self._end_epoch()
        best = self.run_dir / ckpt.BEST
        if best.is_file():
            self.task.model.load_state_dict(ckpt.load(best)["model"])
        return LoopResult(self.state, time.perf_counter() - started)

    def _fresh_start(self) -> None:
        """Start over; an earlier run's checkpoint is replaced only when asked (--overwrite)."""
        existing = self.run_dir / ckpt.CHECKPOINT
        if existing.is_file() and not self.cfg.overwrite:
            raise FileExistsError(f"{self.run_dir} holds a checkpoint of an earlier run; pass resume "
                                  "(--resume) to continue it or overwrite (--overwrite) to start over")
        for name in (ckpt.CHECKPOINT, ckpt.BEST):
            (self.run_dir / name).unlink(missing_ok=True)
        torch.manual_seed(self.cfg.seed)

    def _order(self, epoch: int) -> np.ndarray:
        """The epoch's shuffle, a pure function of (seed, epoch): a resumed run sees the same."""
        return np.random.default_rng([self.cfg.seed, epoch]).permutation(self.task.n_train)

    def _train_epoch(self) -> None:
        st, cfg = self.state, self.cfg
        order = self._order(st.epoch)
        self.task.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        for b in range(st.batch, self.batches):
            if self.cancelled():
                raise TrainCancelled(f"cancelled in epoch {st.epoch + 1} at step {st.step}; "
                                     "resume continues from the last checkpoint")
            index = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            with self._autocast():
                loss = self.task.loss(index)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss.item()} at step {st.step}; "
                                         "try a lower --lr")
            self.scaler.scale(loss / cfg.accum).backward()
            st.loss_sum += float(loss.detach())
            st.loss_count += 1
            if (b + 1) % cfg.accum == 0 or b + 1 == self.batches:
                self._optimizer_step()
                st.batch = b + 1
                self.report(TrainProgress("training", st.epoch, cfg.epochs, st.step, self.total_steps,
                                          loss=st.loss_sum / st.loss_count))
                if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0 and st.batch < self.batches:
                    self.save()

    def _autocast(self) -> Any:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.task.model.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.state.step += 1

    def _end_epoch(self) -> None:
        st, cfg = self.state, self.cfg
        self.report(TrainProgress("validating", st.epoch, cfg.epochs, st.step, self.total_steps))
        self.task.model.eval()
        with torch.no_grad(), self._autocast():
            metrics = self.task.validate()
        row: dict[str, float] = {"epoch": st.epoch + 1, "step": st.step, "lr": float(self.scheduler.get_last_lr()[0]),
                                 "train_loss": st.loss_sum / max(1, st.loss_count), **metrics}
        st.history.append(row)
        score = metrics.get(self.task.monitor, float("nan"))
        if math.isfinite(score) and score > st.best:
            st.best, st.best_epoch, st.bad_epochs = score, st.epoch, 0
            ckpt.save_atomic({"model": self.task.model.state_dict(), "epoch": st.epoch},
                             self.run_dir / ckpt.BEST)
        else:
            st.bad_epochs += 1
        st.stopped_early = bool(cfg.patience) and st.bad_epochs >= cfg.patience
        st.epoch, st.batch, st.loss_sum, st.loss_count = st.epoch + 1, 0, 0.0, 0
        self.save()
        write_curves(self.run_dir, st.history, self.task.plot_keys)
        self.report(TrainProgress("training", st.epoch - 1, cfg.epochs, st.step, self.total_steps,
                                  loss=row["train_loss"], metrics=metrics,
                                  message=f"epoch {st.epoch}: {self.task.monitor} {score:.3f}"))
