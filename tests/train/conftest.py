"""Tiny training set-ups: a 1-layer BERT fitted to the demo library's reports, 32 px films."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TINY_TIMM = "resnet10t"
TINY_KWARGS = {"channels": [8, 16, 16, 32], "stem_width": 8}


@pytest.fixture(autouse=True)
def one_torch_thread() -> Any:
    """Tiny tensors on a shared 2-core machine: OpenMP threads spin-wait on each other and make
    a batch norm 30x slower; one thread is faster and leaves the other core to the rest."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def text_tower(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cxrviewer.train.text_tower import library_texts, write_text_tower

    folder = tmp_path_factory.mktemp("text-tower") / "bert"
    return write_text_tower(folder, library_texts(demo_library), layers=1, hidden=32, heads=2,
                            vocab_size=300, max_length=32)


@pytest.fixture
def tiny_config(demo_library: Path, text_tower: Path, tmp_path: Path) -> Callable[..., Any]:
    """A factory of TrainConfigs that train in a second or two on the CPU."""
    from cxrviewer.train.config import TrainConfig

    def make(**changes: Any) -> TrainConfig:
        values: dict[str, Any] = dict(
            library=demo_library, image_encoder=TINY_TIMM, timm_kwargs=dict(TINY_KWARGS),
            text_encoder=str(text_tower), name="tiny", out=tmp_path / "model", run_dir=tmp_path / "run",
            epochs=2, batch_size=8, lr=3e-3, embed_dim=16, image_size=32, max_text_length=32,
            device="cpu", augment=False, register=False)
        values.update(changes)
        return TrainConfig(**values)

    return make
