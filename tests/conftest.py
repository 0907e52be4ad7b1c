"""Shared test set-up: Qt offscreen, no network, every user folder under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

# Before any Qt import: no screen on CI; never reach a model hub.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test never reads or writes the real config, data or cache folders."""
    home = tmp_path_factory.mktemp("cxrviewer-home")
    monkeypatch.setenv("CXRVIEWER_HOME", str(home))
    for kind in ("CONFIG", "DATA", "CACHE", "LOG"):
        monkeypatch.delenv(f"CXRVIEWER_{kind}_DIR", raising=False)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real test files in ../shared/data (skipped with a reason when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (clone the project beside shared/)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dicom_dir(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic demo dataset (real DICOM files, reports, masks), written once per run."""
    from cxrviewer.demo import write_demo

    root = tmp_path_factory.mktemp("demo-data")
    write_demo(root, n_cases=48, size=128, seed=7, workers=1)
    return root


@pytest.fixture(scope="session")
def demo_library(demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A label-route library built from ``demo_dataset``; tests must not modify it (copy it)."""
    from cxrviewer.library.build import BuildOptions, build_library

    folder = tmp_path_factory.mktemp("libraries") / "demo-small"
    build_library(BuildOptions("demo", demo_dataset, folder, synthetic=True, workers=1))
    return folder


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory) -> Path:
    """A tiny random CLIP folder in the transformers format (see tests/tiny_models.py)."""
    from tiny_models import build_clip

    return build_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def clip_library(demo_dataset, clip_folder, tmp_path_factory) -> Path:
    """``demo_dataset`` built with the tiny CLIP: an embedding route plus the findings route."""
    from cxrviewer.library.build import BuildOptions, build_library

    out = tmp_path_factory.mktemp("libraries") / "clip"
    build_library(BuildOptions("demo", demo_dataset, out, workers=1, encoder=str(clip_folder),
                               batch_size=16))
    return out
