"""Tiny models of every format, built once per session (see tests/tiny_models.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tiny_models import BUILDERS


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """format -> folder of a tiny random model; treat as read-only (copy before damaging)."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {fmt: build(root / fmt) for fmt, build in BUILDERS.items()}


@pytest.fixture
def model_copy(tiny_models: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    """A private copy of a tiny model folder, safe to truncate or delete files in."""

    def copy(fmt: str) -> Path:
        return Path(shutil.copytree(tiny_models[fmt], tmp_path / f"copy-{fmt}"))

    return copy
