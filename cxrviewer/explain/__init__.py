"""Saliency maps: where in a film the evidence for a text query, another film or a label lies.

Importing this package is light (numpy only); torch is imported when a map is computed.
"""

from __future__ import annotations

from typing import Any

from cxrviewer.explain.cache import SaliencyCache
from cxrviewer.explain.types import (
    METHODS,
    Cancelled,
    EmbeddingTarget,
    LabelTarget,
    SaliencyMap,
    Target,
    TextTarget,
    to_film_grid,
)

__all__ = ["METHODS", "Cancelled", "EmbeddingTarget", "LabelTarget", "SaliencyCache", "SaliencyMap", "Target",
           "TextTarget", "explain", "explainable", "to_film_grid"]


def explain(*args: Any, **kwargs: Any) -> SaliencyMap:
    """See :func:`cxrviewer.explain.api.explain` (imported on first call)."""
    from cxrviewer.explain.api import explain as _explain

    return _explain(*args, **kwargs)


def explainable(*args: Any, **kwargs: Any) -> Any:
    """See :func:`cxrviewer.explain.model.explainable` (imported on first call)."""
    from cxrviewer.explain.model import explainable as _explainable

    return _explainable(*args, **kwargs)
