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


@pytest.fixture(scope="session")
def xrv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchxrayvision cache folder (models_data/) with two DenseNet-121 weight files under
    their published names: "all" in torch's legacy format, "nih" in its zip format."""
    from replicas import write_xrv_densenet

    folder = tmp_path_factory.mktemp("xrv") / "models_data"
    write_xrv_densenet(folder, "densenet121-res224-all", seed=0, legacy=True)
    write_xrv_densenet(folder, "densenet121-res224-nih", seed=1, legacy=False)
    return folder


@pytest.fixture(scope="session")
def biomedclip_replica(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(BiomedCLIP's published folder, a folder with its text tower's config and tokenizer)."""
    from replicas import write_biomedclip, write_text_tower

    root = tmp_path_factory.mktemp("biomedclip")
    text = write_text_tower(root / "BiomedNLP-BiomedBERT-base-uncased-abstract")
    return write_biomedclip(root / "BiomedCLIP-PubMedBERT_256-vit_base_patch16_224", text), text


@pytest.fixture(scope="session")
def chexzero_replica(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CheXzero's checkpoint file (an OpenAI-layout CLIP ViT-B/32 state dict, narrow)."""
    from replicas import write_chexzero

    return write_chexzero(tmp_path_factory.mktemp("chexzero"))
