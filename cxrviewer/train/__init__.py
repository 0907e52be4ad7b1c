"""Fine-tuning: contrastive image-report training and multi-label finding heads.

Everything heavy (torch, timm, transformers) is imported inside the functions, so importing
this package is cheap. The public API is plain Python so the GUI's worker can run it:

- :func:`cxrviewer.train.contrastive.train_contrastive` (CLIP-style image-report pairs),
- :func:`cxrviewer.train.labels.train_labels` (multi-label finding classifier),

each taking a :class:`cxrviewer.train.config.TrainConfig`, a ``progress`` callback that gets
:class:`~cxrviewer.train.config.TrainProgress` and a ``should_cancel`` callable, and returning
a :class:`~cxrviewer.train.config.TrainResult`.
"""

from __future__ import annotations

from cxrviewer.train.config import TrainCancelled, TrainConfig, TrainProgress, TrainResult

__all__ = ["TrainCancelled", "TrainConfig", "TrainProgress", "TrainResult"]
