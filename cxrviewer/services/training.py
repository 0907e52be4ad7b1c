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
