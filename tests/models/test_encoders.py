"""Loading and encoding through the same code as real weights, with tiny random models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxrviewer.models import ModelError
from cxrviewer.models.encoders import as_float16, load_encoder
from cxrviewer.models.preprocess import prepare_batch, to_unit_range
from cxrviewer.models.registry import EncoderSpec

FORMATS = ["clip", "siglip", "hf_image", "cxrviewer"]
rng = np.random.default_rng(0)
IMAGES = [
    rng.random((40, 50), dtype=np.float32),
    (rng.random((70, 64)) * 4095).astype(np.uint16),  # 12-bit DICOM-like
    (rng.random((64, 64)) * 255).astype(np.uint8),  # already windowed
]


@pytest.fixture(scope="module")
def encoders(tiny_models: dict[str, Path]) -> dict:
    return {fmt: load_encoder(tiny_models[fmt], device="cpu") for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_images_give_unit_rows_deterministically(encoders: dict, fmt: str) -> None:
    enc = encoders[fmt]
    assert enc.device_name == "CPU" and enc.spec.format == fmt
    first = enc.encode_images(IMAGES)
    assert first.shape == (3, enc.embed_dim) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, enc.encode_images(IMAGES))
    np.testing.assert_allclose(enc.encode_images(IMAGES, batch_size=1), first, atol=1e-5)
    assert not np.allclose(first[0], first[1])


@pytest.mark.parametrize("fmt", ["clip", "cxrviewer"])
def test_batch_array_equals_list_and_float16(encoders: dict, fmt: str) -> None:
    enc = encoders[fmt]
    batch = rng.random((4, 48, 48)).astype(np.float32)
    as_list = enc.encode_images(list(batch))
    np.testing.assert_allclose(enc.encode_images(batch), as_list, atol=1e-6)
    half = enc.encode_images(batch, dtype=np.float16)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, as_list, atol=2e-3)
    assert as_float16(as_list).dtype == np.float16
    assert enc.encode_images([]).shape == (0, enc.embed_dim)


@pytest.mark.parametrize("fmt", ["clip", "siglip", "cxrviewer"])
def test_texts(encoders: dict, fmt: str) -> None:
    enc = encoders[fmt]
    texts = ["small left pleural effusion", "no acute cardiopulmonary process", "the heart is enlarged " * 40]
    out = enc.encode_texts(texts)
    assert out.shape == (3, enc.embed_dim) and enc.has_text
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    again = enc.encode_texts(["no acute cardiopulmonary process"])
    np.testing.assert_allclose(again[0], out[1], atol=1e-5)  # same text, same vector, any batch
    assert not np.allclose(out[0], out[1], atol=1e-3)
    assert enc.logit_scale is not None and enc.logit_scale > 0


def test_image_only_model_has_no_text_tower(encoders: dict) -> None:
    enc = encoders["hf_image"]
    assert not enc.has_text and enc.spec.kind == "image"
    with pytest.raises(ModelError, match="no text tower"):
        enc.encode_texts(["effusion"])


def test_preprocessing_scales_each_image_from_its_own_range() -> None:
    assert to_unit_range(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]
    assert to_unit_range(np.array([[100, 4095]], np.uint16)).tolist() == [[0.0, 1.0]]
    flat = to_unit_range(np.full((4, 4), 7.0))
    assert np.isfinite(flat).all() and flat.max() == 0
    batch = prepare_batch([np.zeros((10, 30)), np.ones((300, 200), np.float32)], 16, [0.5] * 3, [0.25] * 3)
    assert tuple(batch.shape) == (2, 3, 16, 16)
    assert float(batch[0].max()) == pytest.approx(-2.0)  # (0 - 0.5) / 0.25


def test_folder_preprocessing_overrides_spec(tiny_models: dict[str, Path]) -> None:
    spec = EncoderSpec(name="tiny", kind="image", format="hf_image", architecture="x", input_size=518,
                       mean=(0.1,) * 3, std=(0.9,) * 3, embed_dim=768, licence="-",
                       folder=str(tiny_models["hf_image"]))
    enc = load_encoder(spec, device="cpu")
    assert (enc.spec.input_size, enc.spec.embed_dim, enc.spec.mean[0]) == (32, 32, 0.5307)


def test_truncated_safetensors_names_the_file(model_copy) -> None:
    for fmt, name in (("clip", "model.safetensors"), ("cxrviewer", "image.safetensors")):
        folder = model_copy(fmt)
        path = folder / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        with pytest.raises(ModelError, match=name) as info:
            load_encoder(folder, device="cpu")
        assert "truncated" in str(info.value) and str(folder) in str(info.value)


def test_broken_folders_give_clear_errors(model_copy, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a registered model nor a model folder"):
        load_encoder(tmp_path / "nope")
    folder = model_copy("siglip")
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"config\.json is not valid JSON"):
        load_encoder(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelError, match=r"missing config\.json"):
        load_encoder(folder)
    dino = model_copy("hf_image")
    spec = EncoderSpec(name="wrong", kind="joint", format="clip", architecture="x", input_size=224,
                       mean=(0.5,) * 3, std=(0.5,) * 3, embed_dim=512, licence="-", folder=str(dino))
    with pytest.raises(ModelError, match="holds a hf_image model, but 'wrong' expects clip"):
        load_encoder(spec)
    (dino / "model.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(ModelError, match=r"model\.safetensors is truncated"):
        load_encoder(dino)


def test_cxrviewer_weights_for_another_architecture(model_copy) -> None:
    import json

    folder = model_copy("cxrviewer")
    config = json.loads((folder / "config.json").read_text())
    config["image"]["timm_kwargs"]["depth"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"image\.safetensors does not match the architecture"):
        load_encoder(folder, device="cpu")


def test_save_replaces_an_existing_folder_whole(tmp_path: Path) -> None:
    from tiny_models import build_cxrviewer

    folder = build_cxrviewer(tmp_path / "enc", seed=1, with_text=False)
    first = load_encoder(folder, device="cpu").encode_images(IMAGES[:1])
    build_cxrviewer(folder, seed=2, with_text=False)
    enc = load_encoder(folder, device="cpu")
    assert enc.spec.kind == "image" and not enc.has_text
    assert not np.allclose(enc.encode_images(IMAGES[:1]), first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]  # no staging or backup folder left
