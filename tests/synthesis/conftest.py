"""A tiny generator trained for a few steps on the small demo library (findings-conditioned)."""

from __future__ import annotations

from pathlib import Path

import pytest


def tiny_config(library: Path, out: Path, **changes):
    from cxrviewer.synthesis.config import SynthesisConfig

    values = {"library": library, "name": out.name, "out": out, "run_dir": out.parent / f"{out.name}-run", "width": 4,
                  "batch_size": 8, "steps": 4, "device": "cpu", "workers": 1, "threads": 1, "checkpoint_every": 2}
    values.update(changes)
    return SynthesisConfig(**values)


@pytest.fixture(scope="session")
def tiny_generator(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cxrviewer.synthesis.train import train_synthesis

    out = tmp_path_factory.mktemp("generators") / "tiny-gen"
    train_synthesis(tiny_config(demo_library, out))
    return out
