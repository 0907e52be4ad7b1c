"""The maps explain the model: they find the square it learned, and lose it when the weights
are re-initialised (Adebayo et al. 2018's model randomisation test)."""

from __future__ import annotations

import numpy as np
import pytest
from squares import square_images

from cxrviewer.explain import Cancelled, LabelTarget, explain
from cxrviewer.explain.checks import pointing_game, spearman

N = 12
SPEARMAN_BOUND = 0.5


@pytest.mark.parametrize("method", ["layercam", "gradcam", "ig"])
def test_maps_point_at_the_square_and_randomisation_destroys_them(square_model, method):
    trained, random = square_model
    images, _, masks = square_images(N, seed=3, present=True)
    target = LabelTarget("square")
    maps = [explain(trained, image, target, method) for image in images]
    random_maps = [explain(random, image, target, method) for image in images]
    assert all(m.values.shape == (32, 32) and m.values.dtype == np.float32 for m in maps)
    assert all(m.values.min() >= 0.0 and m.values.max() <= 1.0 for m in maps)
    assert pointing_game(maps, list(masks)) >= 0.9
    if method != "layercam":
        # LayerCAM's finer map here is the first conv on the pixels, which finds a bright square
        # whatever its weights; the demo model test below checks it against randomisation
        assert pointing_game(random_maps, list(masks)) < pointing_game(maps, list(masks))
    rho = np.median([spearman(a, b) for a, b in zip(maps, random_maps)])
    assert rho < SPEARMAN_BOUND, f"{method}: maps barely change with random weights (rho {rho:.2f})"


def test_integrated_gradients_are_complete(square_model):
    trained, _ = square_model
    image = square_images(1, seed=4, present=True)[0][0]
    saliency = explain(trained, image, LabelTarget(0), "ig", steps=64)
    assert saliency.extra["completeness_gap"] < 0.05  # sum of attributions = score change
    assert saliency.method == "ig" and saliency.target == "label 0"


@pytest.mark.parametrize("method", ["gradcam", "ig"])
def test_cancelled_between_steps(square_model, method):
    trained, _ = square_model
    image = square_images(1, seed=5, present=True)[0][0]
    polls = []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(Cancelled):
        explain(trained, image, LabelTarget("square"), method, should_cancel=should_cancel, batch=4)


def test_demo_model_layercam_localises_only_with_its_trained_weights(demo_library):
    """On the demo films, LayerCAM's hits come from what the model learned: with the image
    tower and label head re-initialised the pointing game collapses."""
    import torch

    from cxrviewer.explain.pointing import evaluate_pointing
    from cxrviewer.library.library import Library
    from cxrviewer.models.encoders import load_encoder

    trained = load_encoder("demo-clip", device="cpu")
    randomised = load_encoder("demo-clip", device="cpu")
    torch.manual_seed(1)
    for module in [*randomised.image_tower.modules(), randomised._label_head]:
        if module is not randomised.image_tower and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    with Library.open(demo_library) as library:
        good = evaluate_pointing(library, trained, "layercam")
        bad = evaluate_pointing(library, randomised, "layercam")
    assert good["method"] == "layercam" and good["n_maps"] >= 30
    assert good["localised_hit_rate"] >= 0.6, good["findings"]
    assert bad["localised_hit_rate"] <= good["localised_hit_rate"] - 0.3, (good, bad)
