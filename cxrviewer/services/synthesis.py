"""Synthesis jobs for the GUI: example films for a typed impression, drawn on the worker.

The loaded generator is kept between calls (one per worker thread that asks), so a second
impression does not reload the networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxrviewer.services.executor import JobContext

_loaded: dict[str, Any] = {}


def _generator(model: str | None) -> Any:
    from cxrviewer.synthesis.sample import load_generator

    key = model or ""
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = load_generator(model)
    return _loaded[key]


def examples(context: JobContext, text: str, n: int = 8, seed: int = 0, model: str | None = None) -> Any:
    """Marked films (``synthesis.service.Examples``) for ``text``."""
    from cxrviewer.synthesis.service import examples_for_gui

    context.progress(0, None, "Loading the generator…")
    generator = _generator(model)
    context.check()
    context.progress(0, None, f"Drawing {n} films…")
    return examples_for_gui(text, n, seed, generator=generator)


def save(context: JobContext, text: str, folder: str, n: int = 8, seed: int = 0, model: str | None = None) -> Any:
    """Write the same films as marked DICOM and PNG files to ``folder``; the paths written."""
    from cxrviewer.synthesis.service import synthesize_to_folder

    context.progress(0, None, f"Writing {n} films…")
    return synthesize_to_folder(text, Path(folder), n=n, seed=seed, generator=_generator(model))
