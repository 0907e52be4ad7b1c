"""Every encoder format can be explained: text, image-to-image and label targets."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import build_clip, build_cxrviewer, build_cxrviewer_cnn, build_dinov2, build_siglip

from cxrviewer.explain import EmbeddingTarget, LabelTarget, TextTarget, explain, explainable

BUILDERS = {"clip": build_clip, "siglip": build_siglip, "dinov2": build_dinov2, "cxrviewer_vit": build_cxrviewer,
            "cxrviewer_cnn": build_cxrviewer_cnn}
EXPECTED = {"clip": "attention", "siglip": "attention", "dinov2": "attention", "cxrviewer_vit": "attention",
            "cxrviewer_cnn": "layercam"}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def encoder(request, tmp_path_factory):
    from cxrviewer.models.encoders import load_encoder

    folder = tmp_path_factory.mktemp("explain-models") / request.param
    return request.param, load_encoder(BUILDERS[request.param](folder), device="cpu")


def _film(size: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((size, size)) * 255).astype(np.uint8)


def _check(saliency, size: int) -> None:
    assert saliency.values.shape == (size, size) and saliency.values.dtype == np.float32
    assert saliency.values.min() >= 0.0 and saliency.values.max() <= 1.0
    assert np.isfinite(saliency.score) and saliency.seconds >= 0


def test_auto_picks_the_method_of_the_tower_and_ig_works_everywhere(encoder):
    name, enc = encoder
    size = enc.spec.input_size
    film, other = _film(size), _film(size, 1)
    target = TextTarget("left pleural effusion") if enc.has_text else \
        EmbeddingTarget(enc.encode_images([other])[0], "case B")
    auto = explain(enc, film, target)
    _check(auto, size)
    assert auto.method == EXPECTED[name] and auto.layer
    ig = explain(enc, film, target, "ig", steps=8, batch=4)
    _check(ig, size)
    expected = float(enc.encode_images([film])[0] @ (enc.encode_texts(["left pleural effusion"])[0]
                                                     if enc.has_text else enc.encode_images([other])[0]))
    assert auto.score == pytest.approx(expected, abs=1e-4)  # the explained score is the search's cosine


def test_image_to_image_target(encoder):
    _, enc = encoder
    size = enc.spec.input_size
    vector = enc.encode_images([_film(size, 2)])[0]
    saliency = explain(enc, _film(size), EmbeddingTarget(vector, "DEMO0001_S1"), "gradcam")
    _check(saliency, size)
    assert saliency.target == "similarity to DEMO0001_S1"


def test_unexplainable_requests_say_why(encoder):
    name, enc = encoder
    film = _film(enc.spec.input_size)
    if not enc.has_text:
        with pytest.raises(ValueError, match="no text tower"):
            explain(enc, film, TextTarget("edema"))
    if name == "cxrviewer_cnn":
        with pytest.raises(ValueError, match="no patch tokens"):
            explain(enc, film, TextTarget("edema"), "attention")
    with pytest.raises(ValueError, match="no label head"):
        explain(enc, film, LabelTarget("Edema"))
    with pytest.raises(ValueError, match="unknown saliency method"):
        explain(enc, film, LabelTarget(0), "lime")


def test_label_head_of_an_encoder(tmp_path):
    """A trained encoder exposing ``label_logits`` (torch, differentiable) and ``label_names``."""
    import torch

    from cxrviewer.models.encoders import load_encoder

    enc = load_encoder(build_cxrviewer_cnn(tmp_path / "m"), device="cpu")
    head = torch.nn.Linear(enc.embed_dim, 2)
    enc.label_names = ("Edema", "Pleural Effusion")
    enc.label_logits = lambda x: head(enc._image_features(x))
    wrapped = explainable(enc)
    assert wrapped.label_names == ("Edema", "Pleural Effusion")
    film = _film(64)
    saliency = explain(wrapped, film, LabelTarget("pleural effusion"))
    _check(saliency, 64)
    with torch.no_grad():
        logit = float(head(enc._image_features(wrapped.prepare(film)))[0, 1])
    assert saliency.score == pytest.approx(logit, abs=1e-4)
    with pytest.raises(ValueError, match="no label 'Nodule'"):
        explain(wrapped, film, LabelTarget("Nodule"))


def test_label_head_as_predict_labels_uses_it(tmp_path):
    """``Encoder._label_head`` (what ``predict_labels`` applies to the raw features) is explained."""
    import torch

    from cxrviewer.models.encoders import load_encoder

    enc = load_encoder(build_cxrviewer_cnn(tmp_path / "m"), device="cpu")
    enc._label_head = torch.nn.Linear(enc.embed_dim, 2)
    enc.label_names = ("Edema", "Pleural Effusion")
    film = _film(64)
    saliency = explain(enc, film, LabelTarget("Pleural Effusion"), "gradcam")
    _check(saliency, 64)
    if hasattr(enc, "predict_labels"):
        probability = float(enc.predict_labels([film])[0, 1])
        assert saliency.score == pytest.approx(float(np.log(probability / (1 - probability))), abs=1e-3)
