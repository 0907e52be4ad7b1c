"""The settings of a tiny generator (a few steps, width 4) for the synthesis tests."""

from __future__ import annotations

from pathlib import Path


def tiny_config(library: Path, out: Path, **changes):
    from cxrviewer.synthesis.config import SynthesisConfig

    values = {"library": library, "name": out.name, "out": out, "run_dir": out.parent / f"{out.name}-run",
              "width": 4, "batch_size": 8, "steps": 4, "device": "cpu", "workers": 1, "threads": 1,
              "checkpoint_every": 2, "critic_steps": 3}
    values.update(changes)
    return SynthesisConfig(**values)
