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


@pytest.mark.parametrize("method", ["gradcam", "ig"])
def test_maps_point_at_the_square_and_randomisation_destroys_them(square_model, method):
    trained, random = square_model
    images, _, masks = square_images(N, seed=3, present=True)
    target = LabelTarget("square")
    maps = [explain(trained, image, target, method) for image in images]
    random_maps = [explain(random, image, target, method) for image in images]
    assert all(m.values.shape == (32, 32) and m.values.dtype == np.float32 for m in maps)
    assert all(0.0 <= m.values.min() and m.values.max() <= 1.0 for m in maps)
    assert pointing_game(maps, list(masks)) >= 0.9
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
