"""How a film becomes a model's square input, and where a map over that input lies on the film."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.models.film_fit import film_region, fit_film, map_on_film


def _film(rows: int, cols: int) -> np.ndarray:
    _y, x = np.mgrid[0:rows, 0:cols]
    return ((x * 255) // max(cols - 1, 1)).astype(np.uint8)  # dark left edge, bright right edge


def test_squash_keeps_the_whole_film_and_pad_keeps_its_aspect_on_black():
    film = _film(300, 200)
    squashed = fit_film(film, 64, "squash")
    assert squashed.shape == (64, 64) and squashed[:, 0].max() < 10 and squashed[:, -1].min() > 245
    padded = fit_film(film, 64, "pad")
    assert padded.shape == (64, 64)
    film_cols = np.flatnonzero(padded.max(axis=0) > 0)
    assert padded[:, :10].max() == 0 and padded[:, -10:].max() == 0  # black bars at the sides
    assert 40 <= film_cols.size <= 44  # 200/300 of 64 columns hold the film


def test_torchxrayvision_sees_only_the_central_square():
    film = _film(200, 300)
    fitted = fit_film(film, 32, "torchxrayvision")
    assert fitted.shape == (1, 32, 32) and fitted.dtype == np.float32
    assert fitted.min() >= -1024 and fitted.max() <= 1024
    # the film's outer 50 columns on each side are cut: neither the darkest nor the brightest values
    assert fitted.min() > -1024 + 2048 * 40 / 300 and fitted.max() < 1024 - 2048 * 40 / 300


@pytest.mark.parametrize("fit, rows, cols, region", [
    ("squash", 200, 300, (0, 0, 200, 300)),
    ("torchxrayvision", 200, 300, (0, 50, 200, 200)),
    ("torchxrayvision", 300, 200, (50, 0, 200, 200)),
    ("pad", 200, 300, (-50, 0, 300, 300)),
])
def test_the_input_square_over_the_film(fit, rows, cols, region):
    assert film_region(fit, rows, cols) == pytest.approx(region)


def test_a_map_lands_where_the_model_looked():
    spot = np.zeros((32, 32), np.float32)
    spot[0:4, 0:4] = 1.0  # the input's top-left corner
    cropped = map_on_film(spot, "torchxrayvision", 200, 300)
    hot = np.argwhere(cropped > 0.5)
    assert hot[:, 1].min() >= 50 and hot[:, 1].max() < 80 and hot[:, 0].max() < 30  # the crop's corner
    assert cropped[:, :50].max() == 0 and cropped[:, 250:].max() == 0  # never over what it did not see
    padded = map_on_film(spot, "pad", 200, 300)
    assert padded.shape == (200, 300) and padded.max() == 0  # that corner was a black bar, off the film
    spot[16, 16] = 1.0
    assert map_on_film(spot, "pad", 200, 300)[100, 150] > 0.2  # the centre is the film's centre
