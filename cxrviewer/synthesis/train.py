"""Training a text-conditioned generator on a case library's train split.

``projection``: hinge loss, spectral normalisation (in the discriminator's layers), a projection
discriminator with an auxiliary finding head, a diversity term (half of each batch of fakes
repeats the other half's reports with new noise, and the two should differ), a frozen finding
critic trained first on the real films that reads every fake (:mod:`cxrviewer.synthesis.critic`:
what makes small findings such as a mass appear where the report puts them), Adam with beta1 = 0
and an exponential moving average of the generator (the EMA is what gets saved). ``reference``:
the reference project's recipe, binary cross-entropy with Adam (0.5, 0.999) and the raw generator.

The habits of :mod:`cxrviewer.train`: progress reports, cancellation, a checkpoint every N steps
and at the end (``resume`` continues exactly: the batch order and the noise are functions of
(seed, step)), mixed precision on CUDA, and a wall-time bound summed over resumed parts so two
designs can be given the same training time.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from cxrviewer.synthesis import critic as finding_critic
from cxrviewer.synthesis import nets
from cxrviewer.synthesis.condition import (
    Conditioner,
    Conditioning,
    library_conditioning,
)
from cxrviewer.synthesis.config import RESUME_KEYS, SynthesisConfig, SynthesisResult
from cxrviewer.train import checkpoint as ckpt
from cxrviewer.train.config import CancelFn, ProgressFn, TrainCancelled, TrainProgress
from cxrviewer.train.loop import amp_dtype

TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class TrainingData:
    """The train split at 128 px with each case's condition vector and finding targets."""

    images: np.ndarray  # (n, 128, 128) uint8
    conditions: np.ndarray  # (n, d) float32
    targets: np.ndarray  # (n, 4 * findings) float32: the findings vector (the auxiliary head's targets)
    conditioning: Conditioning
    case_ids: tuple[str, ...]
    texts: tuple[str, ...]


def load_training_data(cfg: SynthesisConfig, report: ProgressFn, encoder: Any = None) -> TrainingData:
    from cxrviewer.library.library import Library
    from cxrviewer.synthesis.condition import findings_vectors
    from cxrviewer.train.data import load_cases

    def loading(done: int, total: int) -> None:
        report(TrainProgress("loading", 0, 1, 0, 0, done=done, total=total, message="decoding train films"))

    cases = load_cases(Path(cfg.library), [TRAIN_SPLIT], nets.SIZE, need_text=True, workers=cfg.workers,
                       progress=loading)
    if len(cases) < 2:
        raise ValueError(f"library {cfg.library} has {len(cases)} training films with a report; need at least 2")
    with Library.open(cfg.library, check_index=False) as lib:
        conditioning = library_conditioning(lib, cfg.condition, cases.statuses)
    report(TrainProgress("loading", 0, 1, 0, 0, message="reading the reports"))
    conditions = Conditioner(conditioning, encoder, cfg.device)(cases.texts)
    targets = findings_vectors(cases.texts, conditioning.labels)
    return TrainingData(cases.images, conditions, targets, conditioning, cases.case_ids, cases.texts)


class GanTrainer:
    """One run of one design; :meth:`fit` may be called once."""

    def __init__(self, cfg: SynthesisConfig, data: TrainingData, run_dir: Path, device: torch.device,
                 progress: ProgressFn | None = None, should_cancel: CancelFn | None = None) -> None:
        self.cfg, self.data, self.run_dir, self.device = cfg, data, run_dir, device
        self.report = progress or (lambda p: None)
        self.cancelled = should_cancel or (lambda: False)
        torch.manual_seed(cfg.seed)
        cond_dim, n_aux = data.conditions.shape[1], data.targets.shape[1]
        self.ours = cfg.arch == "projection"
        self.G = nets.build_generator(cfg.arch, cond_dim, cfg.width).to(device)
        self.D = nets.build_discriminator(cfg.arch, cond_dim, n_aux if cfg.aux_weight > 0 else 0, cfg.width).to(device)
        if isinstance(self.G, nets.ProjectionGenerator):
            self.G.set_prior(nets.to_unit(data.images, torch.device("cpu")), torch.from_numpy(data.conditions))
        self.G_ema = copy.deepcopy(self.G).eval() if self.ours else None
        self.critic = (finding_critic.FindingCritic(n_aux).to(device) if self.ours and cfg.critic_weight > 0
                       else None)
        self.finding_loss = finding_critic.FindingLoss(data.targets)
        self.critic_ready = False
        betas = (0.0, 0.99) if self.ours else (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), cfg.lr_d, betas=betas)
        self.dtype = amp_dtype(device, cfg.amp)
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.conditions = torch.from_numpy(data.conditions).to(device)
        self.targets = torch.from_numpy(data.targets).to(device)
        self.n = len(data.images)
        self.batches = max(1, self.n // cfg.batch_size)
        self.step, self.seconds = 0, 0.0
        self.history: list[dict[str, float]] = []

    # -- checkpoints -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "G_ema": self.G_ema.state_dict() if self.G_ema is not None else {},
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "scaler_g": self.scaler_g.state_dict(), "scaler_d": self.scaler_d.state_dict(),
                "critic": self.critic.state_dict() if self.critic is not None else {},
                "critic_ready": self.critic_ready,
                "step": self.step, "seconds": self.seconds, "history": self.history,
                "config": {k: self.cfg.to_dict()[k] for k in RESUME_KEYS}}

    def save(self) -> None:
        ckpt.save_atomic(self._state(), self.run_dir / ckpt.CHECKPOINT)

    def restore(self) -> bool:
        settings = {k: self.cfg.to_dict()[k] for k in RESUME_KEYS}
        data = ckpt.load_to_resume(self.run_dir / ckpt.CHECKPOINT, settings, "another --model name")
        if data is None:
            return False
        self.G.load_state_dict(data["G"])
        self.D.load_state_dict(data["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(data["G_ema"])
        if self.critic is not None and data.get("critic_ready"):
            self.critic.load_state_dict(data["critic"])
            self.critic.eval().requires_grad_(False)
            self.critic_ready = True
        for name in ("opt_g", "opt_d", "scaler_g", "scaler_d"):
            getattr(self, name).load_state_dict(data[name])
        self.step, self.seconds = int(data["step"]), float(data["seconds"])
        self.history = list(data["history"])
        return True

    # -- training ----------------------------------------------------------------------------
    def _autocast(self) -> Any:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _batch(self, step: int) -> np.ndarray:
        epoch, b = divmod(step, self.batches)
        order = np.random.default_rng([self.cfg.seed, epoch]).permutation(self.n)
        return np.sort(order[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size])

    def _noise(self, step: int, n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        return torch.randn(n, nets.z_dim(self.G), generator=gen).to(self.device)

    def train_step(self) -> dict[str, float]:
        idx = self._batch(self.step)
        x = nets.to_unit(self.data.images[idx], self.device)
        c, y = self.conditions[idx], self.targets[idx]
        z = self._noise(self.step, len(idx))
        pairs = self.ours and self.cfg.diversity > 0 and len(idx) >= 4
        half = len(idx) // 2
        if pairs:  # the second half of the fakes repeats the first half's reports with other noise
            c_fake, y_fake = torch.cat([c[:half], c[:len(idx) - half]]), torch.cat([y[:half], y[:len(idx) - half]])
        else:
            c_fake, y_fake = c, y
        with self._autocast():
            fake = self.G(z, c_fake)
            real_score, real_aux = self.D(x, c)
            fake_score, _ = self.D(fake.detach(), c_fake)
            if self.ours:
                d_adv = F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
            else:
                d_adv = (F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score))
                         + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score)))
            d_aux = (F.binary_cross_entropy_with_logits(real_aux.float(), y) if real_aux is not None
                     else torch.zeros((), device=self.device))
            d_loss = d_adv + self.cfg.aux_weight * d_aux
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(d_loss).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()

        with self._autocast():
            score, aux = self.D(fake, c_fake)
            g_adv = -score.mean() if self.ours else F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            g_aux = (F.binary_cross_entropy_with_logits(aux.float(), y_fake) if aux is not None
                     else torch.zeros((), device=self.device))
            g_loss = g_adv + self.cfg.cond_weight * g_aux
            if pairs:
                g_loss = g_loss + self.cfg.diversity * mode_seeking(fake[:half], fake[half:2 * half],
                                                                    z[:half], z[half:2 * half])
            g_critic = torch.zeros((), device=self.device)
            if self.critic is not None:
                shift = torch.Generator().manual_seed(self.cfg.seed * 7_919 + self.step)
                g_critic = self.finding_loss(self.critic(finding_critic.shifted(fake, shift)), y_fake)
                g_loss = g_loss + self.cfg.critic_weight * g_critic
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(g_loss).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self._update_ema()
        named = (("d_loss", d_adv), ("g_loss", g_adv), ("d_aux", d_aux), ("g_aux", g_aux), ("g_critic", g_critic))
        losses = {k: float(v.detach()) for k, v in named}
        if not all(np.isfinite(v) for v in losses.values()):
            raise FloatingPointError(f"the losses became {losses} at step {self.step}; try a lower learning rate")
        return losses

    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        decay = min(self.cfg.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for e, p in zip(self.G_ema.parameters(), self.G.parameters()):
                e.lerp_(p, 1 - decay)
            for kept, b in zip(self.G_ema.buffers(), self.G.buffers()):
                kept.copy_(b)

    def _done(self) -> bool:
        """Steps or time spent; never before the first step (the critic's training counts as time
        and can use up a short budget by itself, which would save an untrained generator)."""
        cfg = self.cfg
        return bool(self.step and ((cfg.steps and self.step >= cfg.steps)
                                   or (cfg.minutes and self.seconds >= cfg.minutes * 60)))

    def fit(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not (self.cfg.resume and self.restore()):
            existing = self.run_dir / ckpt.CHECKPOINT
            if existing.is_file() and not self.cfg.overwrite:
                raise FileExistsError(f"{self.run_dir} holds a checkpoint of an earlier run; pass --resume to "
                                      "continue it or --overwrite to start over")
            existing.unlink(missing_ok=True)
        self._train_critic()
        total = self.cfg.steps or 0
        window: list[dict[str, float]] = []
        self.G.train()
        self.D.train()
        while not self._done():
            if self.cancelled():
                self.save()
                raise TrainCancelled(f"cancelled at step {self.step}; --resume continues from here")
            started = time.perf_counter()
            losses = self.train_step()
            self.step += 1
            self.seconds += time.perf_counter() - started
            window.append(losses)
            if self.step % 10 == 0 or self._done():
                mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
                self.history.append({"step": self.step, "seconds": round(self.seconds, 2), **mean})
                window = []
                self.report(TrainProgress("training", 0, 1, self.step, total, loss=mean["g_loss"], metrics=mean,
                                          message=self._budget_note()))
            if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:
                self.save()
                self.write_history()
        self.save()
        self.write_history()

    def _train_critic(self) -> None:
        """The finding critic learns the real films first (its time counts as training time)."""
        if self.critic is None or self.critic_ready:
            return
        steps = self.cfg.critic_steps

        def say(step: int, loss: float) -> None:
            self.report(TrainProgress("critic", 0, 1, step, steps, loss=loss,
                                      message="the finding critic learns the real films"))

        self.seconds += finding_critic.pretrain(self.critic, self.data.images, self.data.targets, self.finding_loss,
                                                steps=steps, batch_size=self.cfg.batch_size, seed=self.cfg.seed,
                                                device=self.device, progress=say)
        self.critic_ready = True
        self.save()

    def _budget_note(self) -> str:
        if self.cfg.minutes:
            return f"{self.seconds / 60:.1f} of {self.cfg.minutes:g} min"
        return ""

    def write_history(self) -> None:
        if not self.history:
            return
        path = self.run_dir / "metrics.csv"
        keys = list(self.history[0])
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        tmp.replace(path)

    def final_generator(self) -> torch.nn.Module:
        """The generator to save: the EMA (ours) or the raw one (reference), with its batch-norm
        statistics recomputed over a pass of the training conditions, so that evaluation mode
        (one film independent of the others in its batch) draws what training mode drew."""
        generator = copy.deepcopy(self.G_ema if self.G_ema is not None else self.G)
        recalibrate_batchnorm(generator, self.conditions, self.cfg.batch_size, self.cfg.seed, self.device)
        return generator.eval()


DIVERSITY_CAP = 0.12  # ~ what two real films of one report differ by (mean |x1 - x2| in [-1, 1]) per unit of |z1 - z2|


def mode_seeking(a: torch.Tensor, b: torch.Tensor, za: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
    """Against mode collapse (every film of a report the same): films of one report drawn with
    other noise should differ in proportion to their noise. The ratio is rewarded up to a cap
    (DSGAN, Yang et al. 2019) rather than by its inverse (MSGAN), which pushed some noise values
    to draw anything but a chest."""
    ratio = (a - b).abs().float().mean() / (za - zb).abs().float().mean()
    return -torch.clamp(ratio, max=DIVERSITY_CAP)


@torch.no_grad()
def recalibrate_batchnorm(generator: torch.nn.Module, conditions: torch.Tensor, batch_size: int, seed: int,
                          device: torch.device, batches: int = 16) -> None:
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the passes below
    generator.train()
    gen = torch.Generator().manual_seed(seed + 7)
    for _ in range(batches):
        idx = torch.randint(0, len(conditions), (batch_size,), generator=gen)
        z = torch.randn(batch_size, nets.z_dim(generator), generator=gen).to(device)
        generator(z, conditions[idx.to(conditions.device)])
    for m in norms:
        m.momentum = 0.1
    generator.eval()


def train_synthesis(cfg: SynthesisConfig, progress: ProgressFn | None = None,
                    should_cancel: CancelFn | None = None, encoder: Any = None) -> SynthesisResult:
    """Train, save the generator folder (weights, config, card) and return what was done."""
    from cxrviewer.models.encoders import device_label, resolve_device
    from cxrviewer.synthesis import store

    report = progress or (lambda p: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    name, out, run_dir = store.output_dirs(cfg)
    store.check_target(cfg, out)
    device = resolve_device(cfg.device)
    data = load_training_data(cfg, report, encoder)
    trainer = GanTrainer(cfg, data, run_dir, device, report, should_cancel)
    trainer.fit()
    report(TrainProgress("saving", 0, 1, trainer.step, cfg.steps, message=f"writing {out}"))
    generator = trainer.final_generator()
    losses = trainer.history[-1] if trainer.history else {}
    training = {"library": str(cfg.library), "n_train": len(data.images), "steps": trainer.step,
                "seconds": round(trainer.seconds, 1), "device": device_label(device),
                "threads": torch.get_num_threads(),
                "settings": cfg.to_dict()}
    store.save_generator(out, generator, cfg.arch, cfg.width, data.conditioning, training, cfg.licence,
                         cfg.truncation)
    store.write_card(out, cfg, len(data.images))
    return SynthesisResult(out, run_dir, name, trainer.step, trainer.seconds, device_label(device),
                           nets.n_params(generator), {k: float(v) for k, v in losses.items() if k not in ("step",)})
