"""A library knows which weights made its vectors: a search with other weights, or adding to it
with them, is refused with a message, and the demo library is rebuilt when the demo model changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny_models import build_clip

from cxrviewer.library import catalog
from cxrviewer.library.build import BuildOptions, build_library
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library, SearchRequest
from cxrviewer.library.manifest import read_manifest, write_manifest
from cxrviewer.models import ModelError
from cxrviewer.models.registry import FINGERPRINT_BLOCK, weights_fingerprint


def test_the_fingerprint_follows_the_weights_not_the_folder(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "text").mkdir(parents=True)
    (model / "config.json").write_text('{"a": 1}')
    weights = bytearray(range(256)) * (5 * 2**20 // 256)  # 5 MiB: sampled, not read whole
    (model / "text" / "model.safetensors").write_bytes(weights)
    (model / "README.md").write_text("notes")
    first = weights_fingerprint(model)

    moved = tmp_path / "elsewhere"
    shutil.copytree(model, moved)
    (moved / "README.md").write_text("other notes")
    assert weights_fingerprint(moved) == first, "same files elsewhere, README aside: same model"

    weights[FINGERPRINT_BLOCK // 2] ^= 0xFF  # inside the first sampled block
    (moved / "text" / "model.safetensors").write_bytes(weights)
    assert weights_fingerprint(moved) != first
    (moved / "text" / "model.safetensors").write_bytes(weights + b"\0")
    assert weights_fingerprint(moved) != first
    (model / "config.json").write_text('{"a": 2}')
    assert weights_fingerprint(model) != first

    with pytest.raises(ModelError, match="no weight or config files"):
        weights_fingerprint(tmp_path / "empty-or-missing")


@pytest.fixture
def own_clip_library(clip_library: Path, clip_folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tiny-CLIP library whose encoder is a copy of the model we may change."""
    model = tmp_path / "tiny-clip"
    shutil.copytree(clip_folder, model)
    library = tmp_path / "library"
    shutil.copytree(clip_library, library)
    manifest = read_manifest(library)
    encoder = dict(manifest.preprocessing["encoder"], path=str(model))
    write_manifest(library, manifest.touched(preprocessing=dict(manifest.preprocessing, encoder=encoder)))
    return library, model


def _retrain(model: Path, tmp_path: Path) -> None:
    """Replace the weights with another training run's (same architecture, other values)."""
    other = build_clip(tmp_path / "retrained", seed=1)
    shutil.copy2(other / "model.safetensors", model / "model.safetensors")


def _text_search(library_folder: Path, model: Path):
    with Library.open(library_folder, encoder_loader=lambda name: _load(model)) as library:
        return library.search(SearchRequest(text="small left pleural effusion", k=3, route=library.manifest.route))


def _load(model: Path):
    from cxrviewer.models.encoders import load_encoder

    return load_encoder(model, device="cpu")


def test_the_build_records_the_encoders_fingerprint(clip_library: Path, clip_folder: Path) -> None:
    recorded = read_manifest(clip_library).preprocessing["encoder"]["fingerprint"]
    assert recorded == weights_fingerprint(clip_folder)


def test_a_search_with_other_weights_is_refused_and_works_again_with_the_original(own_clip_library, tmp_path) -> None:
    library, model = own_clip_library
    assert _text_search(library, model).hits
    original = (model / "model.safetensors").read_bytes()
    _retrain(model, tmp_path)
    with pytest.raises(LibraryError, match="not the ones this library was built with"):
        _text_search(library, model)
    (model / "model.safetensors").write_bytes(original)
    assert _text_search(library, model).hits


def test_adding_to_a_library_with_other_weights_is_refused(own_clip_library, demo_dataset, tmp_path) -> None:
    library, model = own_clip_library
    before = (library / "manifest.json").read_text()
    _retrain(model, tmp_path)
    with pytest.raises(LibraryError, match="built with other weights"):
        build_library(BuildOptions("demo", demo_dataset, library, workers=1, encoder=str(model)))
    assert (library / "manifest.json").read_text() == before, "the library is left as it was"


def test_a_library_from_before_fingerprints_is_not_checked(own_clip_library, tmp_path) -> None:
    library, model = own_clip_library
    data = json.loads((library / "manifest.json").read_text())
    del data["preprocessing"]["encoder"]["fingerprint"]
    (library / "manifest.json").write_text(json.dumps(data))
    _retrain(model, tmp_path)
    assert _text_search(library, model).hits


def test_the_demo_library_is_rebuilt_when_the_demo_model_changed(isolated_user_dirs) -> None:
    if not catalog.demo_encoder():
        pytest.skip("the demo model's weights are not in this install")
    folder = catalog.ensure_demo(n_cases=12)
    built = read_manifest(folder)
    assert built.route == catalog.DEMO_MODEL and built.state == "ready"
    assert catalog.ensure_demo(n_cases=12) == folder and read_manifest(folder) == built, "current: kept"

    # As if this demo library had been built by an older release with other demo weights.
    stale = dict(built.preprocessing["encoder"], fingerprint="0" * 32)
    write_manifest(folder, built.touched(preprocessing=dict(built.preprocessing, encoder=stale)))
    stages = []
    assert catalog.ensure_demo(progress=lambda stage, done, total: stages.append(stage), n_cases=12) == folder
    rebuilt = read_manifest(folder)
    assert "building" in stages and rebuilt.state == "ready"
    assert rebuilt.preprocessing["encoder"]["fingerprint"] == built.preprocessing["encoder"]["fingerprint"]
    assert rebuilt.counts == built.counts
    assert sorted(p.name for p in catalog.libraries_dir().iterdir()) == [catalog.DEMO_NAME], "no leftovers"
    with Library.open(folder) as library:
        assert library.search(SearchRequest(text="cardiomegaly", k=3, route=library.manifest.route)).hits
