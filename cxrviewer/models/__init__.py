"""Encoders: a registry of specs as plain data (light) and the loaders that run them (heavy).

Importing this package, :mod:`cxrviewer.models.registry` or :mod:`cxrviewer.models.cli` never
imports torch, transformers or timm; only :mod:`cxrviewer.models.encoders` and
:mod:`cxrviewer.models.cxrformat` do, and only inside their functions.
"""

from __future__ import annotations

from cxrviewer.models.errors import ModelError

__all__ = ["ModelError"]
