"""Plain-data settings and result of a generator's training (no torch: safe for the GUI)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARCHS = ("projection", "reference")
CONDITIONS = ("auto", "text+findings", "text", "findings")
LICENCE = "trained locally; same terms as the library's data"


@dataclass(frozen=True)
class SynthesisConfig:
    """One training run. ``steps`` and ``minutes`` both bound it (whichever comes first; 0 =
    no bound), so two designs can be given the same wall time. ``out`` defaults to
    ``<models dir>/generators/<name>``, ``run_dir`` to ``<data dir>/training/<name>``."""

    library: Path
    name: str = "synthesis"
    out: Path | None = None
    run_dir: Path | None = None
    arch: str = "projection"
    condition: str = "auto"
    width: int = 16
    batch_size: int = 32
    steps: int = 3000
    minutes: float = 0.0
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    ema: float = 0.995
    aux_weight: float = 1.0  # the discriminator's finding head on real films
    cond_weight: float = 1.0  # the generator's films read by that head as their reports say (projection)
    diversity: float = 1.0  # weight of the diversity term (projection design; 0: off)
    critic_weight: float = 1.0  # the finding critic's reading of the fakes (projection; 0: off)
    critic_steps: int = 600  # batches of the critic's training on the real films, before the GAN's
    truncation: float = 0.5  # noise scale when drawing films (saved with the generator; 1: as trained)
    seed: int = 0
    device: str | None = None
    amp: bool = True
    resume: bool = False
    overwrite: bool = False
    checkpoint_every: int = 200
    workers: int = 2
    threads: int = 0  # CPU threads for torch (0: torch's default); 1 is fastest on a CPU shared with other work
    licence: str = LICENCE
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, not {self.arch!r}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}, not {self.condition!r}")
        for key in ("width", "batch_size"):
            if int(getattr(self, key)) < 2:
                raise ValueError(f"{key} must be at least 2")
        if self.steps < 0 or self.minutes < 0:
            raise ValueError("steps and minutes must not be negative")
        if not self.steps and not self.minutes:
            raise ValueError("give a number of steps or a number of minutes (or both)")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("library", "out", "run_dir"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    def replace(self, **changes: Any) -> SynthesisConfig:
        return dataclasses.replace(self, **changes)


# settings that change the model or the data order: a checkpoint made with others is refused
RESUME_KEYS = ("arch", "condition", "width", "batch_size", "seed", "lr_g", "lr_d", "ema", "aux_weight", "cond_weight",
               "diversity", "critic_weight", "critic_steps")


@dataclass(frozen=True)
class SynthesisResult:
    """A finished (or budget-stopped) run."""

    model_dir: Path
    run_dir: Path
    name: str
    steps: int
    seconds: float  # training time (optimizer steps, summed over resumed parts)
    device: str
    parameters: int
    losses: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model_dir": str(self.model_dir), "run_dir": str(self.run_dir),
                "steps": self.steps, "seconds": round(self.seconds, 1), "device": self.device,
                "parameters": self.parameters, "losses": {k: round(v, 4) for k, v in self.losses.items()}}
