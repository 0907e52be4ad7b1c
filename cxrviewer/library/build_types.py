"""What a library build is told and tells back: its options, progress, result and cancel, shared
by the local build (``build``), its image pipeline (``build_images``) and the Ray build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cxrviewer.datasets.case import DatasetProblem


class BuildCancelled(Exception):
    """The build was cancelled; what was stored so far is kept and a rerun resumes."""


@dataclass(frozen=True)
class BuildProgress:
    stage: str  # "reading", "images", "finishing"
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class BuildOptions:
    dataset: str
    root: Path
    out: Path
    name: str = ""
    thumb_size: int = 256
    batch_size: int = 64
    workers: int | None = None
    synthetic: bool = False
    limit: int | None = None  # build from the first N cases only (a quick trial library)
    encoder: str = ""  # a registered model name or folder; "" builds the label route only
    index_kind: str = "auto"
    device: str | None = None


@dataclass(frozen=True)
class BuildResult:
    folder: Path
    added: int
    skipped: int
    total: int
    resumed: bool
    seconds: float
    problems: tuple[DatasetProblem, ...] = field(default=(), repr=False)
    # seconds from the first prepared image to the last stored: the pipeline's steady state,
    # without the worker processes' start (about 0.8 s here), which large datasets amortise
    images_span: float = 0.0


ProgressFn = Callable[[BuildProgress], None]
CancelFn = Callable[[], bool]
