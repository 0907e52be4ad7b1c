"""Int8 text towers on the CPU: what gets quantised, when, and that the embeddings still agree."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import build_clip, build_cxrviewer

from cxrviewer.models import quantize
from cxrviewer.models.encoders import load_encoder

QUERIES = ["mild cardiomegaly", "small left pleural effusion", "no acute disease",
           "right upper lobe consolidation", "large right pneumothorax", "pulmonary edema",
           "left lower lobe atelectasis", "endotracheal tube in place"]


def _quantised_linears(module) -> int:
    return sum(type(m).__module__.startswith("torch.ao.nn.quantized") for m in module.modules())


@pytest.mark.parametrize("build", [build_cxrviewer, build_clip], ids=["cxrviewer", "clip"])
def test_int8_text_tower_agrees_with_float32(tmp_path, build):
    folder = build(tmp_path / "model")
    exact = load_encoder(folder, device="cpu", text_int8=False)
    int8 = load_encoder(folder, device="cpu", text_int8=True)
    assert (exact.text_precision, int8.text_precision) == ("float32", "int8")
    parts = [getattr(owner, name) for owner, name in int8._text_parts()]
    assert sum(_quantised_linears(m) for m in parts) > 0
    image_side = int8.image_tower if hasattr(int8, "image_tower") else int8.model.vision_model
    assert _quantised_linears(image_side) == 0
    a, b = exact.encode_texts(QUERIES), int8.encode_texts(QUERIES)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float(np.min((a * b).sum(1))) > 0.98
    # each query's nearest other query is the same with either tower
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -2)
    np.fill_diagonal(sb, -2)
    assert (sa.argmax(1) == sb.argmax(1)).mean() >= 0.75
    # the image side is untouched
    film = np.random.default_rng(0).random((2, 40, 40)).astype(np.float32)
    assert np.allclose(exact.encode_images(film), int8.encode_images(film), atol=1e-6)


def test_auto_keeps_small_towers_and_honours_the_override(tmp_path, monkeypatch):
    folder = build_cxrviewer(tmp_path / "model")
    assert load_encoder(folder, device="cpu").text_precision == "float32"  # far below INT8_MIN_PARAMS
    monkeypatch.setattr(quantize, "INT8_MIN_PARAMS", 0)
    assert load_encoder(folder, device="cpu").text_precision == "int8"
    monkeypatch.setenv(quantize.FP32_ENV, "1")
    assert load_encoder(folder, device="cpu").text_precision == "float32"
