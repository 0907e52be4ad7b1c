"""Training jobs for the GUI: run ``cxrviewer.train`` in a worker, reporting plain progress."""

from __future__ import annotations

from typing import Any

from cxrviewer.services.executor import Cancelled, JobContext


def train(context: JobContext, task: str, options: dict[str, Any]) -> Any:
    """Train a contrastive model or a finding classifier; streams ``TrainProgress`` records."""
    from pathlib import Path

    from cxrviewer.train.config import TrainCancelled, TrainConfig

    config = TrainConfig(**{**options, "library": Path(options["library"])})
    if task == "labels":
        from cxrviewer.train.labels import train_labels as run
    else:
        from cxrviewer.train.contrastive import train_contrastive as run
    try:
        return run(config, progress=context.emit, should_cancel=context.should_cancel)
    except TrainCancelled:
        raise Cancelled() from None  # the last checkpoint stays; "resume" goes on from it


def estimate(context: JobContext, task: str, options: dict[str, Any]) -> Any:
    """Time a few steps of the run on this machine (train.estimate) before it is started."""
    from pathlib import Path

    from cxrviewer.train.config import TrainConfig
    from cxrviewer.train.estimate import estimate_run

    context.progress(0, None, "Timing a few training steps on this machine…")
    return estimate_run(TrainConfig(**{**options, "library": Path(options["library"])}))


def resolve_weights(architecture: str, choice: str) -> str:
    """The image weights file for a run: 'auto' is timm's ImageNet file from the local cache."""
    if choice != "auto":
        return choice
    from cxrviewer.train.estimate import local_imagenet_weights

    return local_imagenet_weights(architecture)
