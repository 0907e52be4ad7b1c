"""A tiny generator trained for a few steps on the small demo library (findings-conditioned)."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthesis_helpers import tiny_config


@pytest.fixture(scope="session")
def tiny_generator(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cxrviewer.synthesis.train import train_synthesis

    out = tmp_path_factory.mktemp("generators") / "tiny-gen"
    train_synthesis(tiny_config(demo_library, out))
    return out
