"""How long a training run will take, measured before anyone commits to it.

A DenseNet-121 at 320 px runs a few hundred films a second on a workstation GPU and about one on
a laptop CPU: the same command is minutes on one and days on the other. So a run on the CPU first
decodes a few of the library's films and times a few optimizer steps of the real model at the real
batch and image size, and says what the whole run would cost. It also finds ImageNet weights for
the tower when timm's own file is in the local Hugging Face cache (never downloaded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxrviewer.train.config import TrainConfig

WARM_UP_STEPS = 1
TIMED_STEPS = 1  # timed at the run's own batch: a smaller one does not scale (measured on a 2-core
# CPU, DenseNet-121 at 320 px: 0.3-0.5 s per film at batch 8-16, 1.7 s per film at batch 32)
SAMPLE_FILMS = 8
CONFIRM_ABOVE_S = 15 * 60  # a CPU run longer than this waits for the user's yes


@dataclass(frozen=True)
class Estimate:
    """The measured parts of a run and their total."""

    device: str
    films: int  # train + valid films to decode
    decode_s_per_film: float
    step_s: float  # one optimizer step (forward, backward, update) at the run's batch and size
    steps: int  # optimizer steps over all epochs
    validate_s: float  # all validation passes
    total_s: float

    @property
    def needs_confirmation(self) -> bool:
        return self.device == "cpu" and self.total_s > CONFIRM_ABOVE_S

    def describe(self) -> str:
        where = "this CPU" if self.device == "cpu" else f"this {self.device.upper()}"
        return (f"about {duration(self.total_s)} on {where}: decoding {self.films:,} films "
                f"(~{duration(self.decode_s_per_film * self.films)}), {self.steps:,} optimizer steps of "
                f"{self.step_s:.2f} s, validation ~{duration(self.validate_s)}")

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "films": self.films, "decode_s_per_film": round(self.decode_s_per_film, 4),
                "step_s": round(self.step_s, 4), "steps": self.steps, "validate_s": round(self.validate_s, 1),
                "total_s": round(self.total_s, 1), "needs_confirmation": self.needs_confirmation}


def duration(seconds: float) -> str:
    """'40 s', '12 min', '3 h 20 min', '2 days 4 h'."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(minutes), 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h"


def local_imagenet_weights(architecture: str) -> str:
    """The safetensors file of timm's default ImageNet weights for ``architecture`` when it is in
    the local Hugging Face cache, else "" (then the tower starts from scratch)."""
    try:
        import timm
        from huggingface_hub import try_to_load_from_cache

        cfg = timm.models.get_pretrained_cfg(architecture)
    except (ImportError, RuntimeError, ValueError):
        return ""
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        return ""
    for filename in ("model.safetensors", "open_clip_model.safetensors"):
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return found
    return ""


def _split_counts(library: Any) -> tuple[int, int]:
    from cxrviewer.library.library import Library

    with Library.open(library, check_index=False) as lib:
        counts = dict(lib.store.db.execute("SELECT split, COUNT(*) FROM cases GROUP BY split").fetchall())
    return int(counts.get("train", 0)), int(counts.get("valid", 0))


def _decode_seconds(config: TrainConfig) -> float:
    """Seconds per film of the run's own decoding (two threads, as training uses)."""
    from cxrviewer.library.library import Library
    from cxrviewer.train.data import _decode_all

    with Library.open(config.library, check_index=False) as lib:
        rows = [r[0] for r in lib.store.db.execute(
            "SELECT row FROM cases WHERE split IN ('train', 'valid') ORDER BY row LIMIT ?", (SAMPLE_FILMS,))]
        jobs = [(c.image, c.frame) for c in lib.store.cases(rows)]
    if not jobs:
        return 0.0
    started = time.perf_counter()
    _decode_all(jobs, config.image_size, 2, None)
    return (time.perf_counter() - started) / len(jobs)


def _step_seconds(config: TrainConfig, device: Any, n_labels: int) -> float:
    """Seconds per optimizer step of the real model at the run's batch and image size."""
    import torch

    from cxrviewer.train.loop import amp_dtype
    from cxrviewer.train.model import Batcher, JointModel, create_image_tower, image_normalisation

    tower = create_image_tower(config.image_encoder, config.timm_kwargs, "")
    model = JointModel(tower, config.embed_dim, None, max(1, n_labels)).to(device).train()
    mean, std = image_normalisation(tower)
    batcher = Batcher(mean, std, device, config.seed)
    optimizer = torch.optim.AdamW(model.param_groups(config.weight_decay), lr=config.lr)
    films = np.random.default_rng(0).integers(0, 255, (config.batch_size, config.image_size, config.image_size),
                                              dtype=np.uint8)
    targets = torch.zeros(config.batch_size, max(1, n_labels), device=device)
    dtype = amp_dtype(device, config.amp)
    times = []
    for step in range(WARM_UP_STEPS + TIMED_STEPS):
        started = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype) if dtype is not None else _nothing():
            assert model.label_head is not None  # made with at least one label
            logits = model.label_head(model.encode_image(batcher.images(films, config.augment)))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= WARM_UP_STEPS:
            times.append(time.perf_counter() - started)
    return float(np.median(times))


class _nothing:
    def __enter__(self) -> None: ...
    def __exit__(self, *exc: Any) -> None: ...


def estimate_run(config: TrainConfig, n_labels: int = 14) -> Estimate:
    """Decode a few films and time a few steps; extrapolate to the whole run."""
    from cxrviewer.models.encoders import resolve_device

    device = resolve_device(config.device)
    n_train, n_valid = _split_counts(config.library)
    decode = _decode_seconds(config)
    step = _step_seconds(config, device, n_labels)
    steps_per_epoch = -(-max(1, n_train) // (config.batch_size * config.accum))
    steps = steps_per_epoch * config.epochs
    forward_share = 1 / 3  # a validation batch is a forward pass: about a third of a training step
    validate = step * forward_share * -(-max(1, n_valid) // config.batch_size) * config.epochs
    total = decode * (n_train + n_valid) + step * config.accum * steps + validate
    return Estimate(device.type, n_train + n_valid, decode, step * config.accum, steps, validate, total)
