"""Fréchet distance, nearest neighbours and the side reader on made-up features and films."""

from __future__ import annotations

import numpy as np
import pytest


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift() -> None:
    from cxrviewer.synthesis.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifts = [0.1, 0.5, 1.0, 2.0]
    values = [frechet_distance(a, a + s) for s in shifts]
    # a mean shift of s in each of 16 dimensions adds 16 s^2, and only that
    np.testing.assert_allclose(values, [16 * s * s for s in shifts], rtol=1e-6)
    centred = a - a.mean(axis=0)
    wider = frechet_distance(centred, centred * 2.0)  # same mean, double spread: tr(S) + tr(4S) - 2 tr(2S)
    assert wider == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-6)


def test_frechet_distance_of_two_samples_of_one_distribution_is_small() -> None:
    from cxrviewer.synthesis.metrics import frechet_distance

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    assert frechet_distance(a, b) < 0.1 < frechet_distance(a, b + 0.5)
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :4])


def test_nearest_neighbours_can_leave_pairs_out() -> None:
    from cxrviewer.synthesis.metrics import cosine_distances, nearest

    x = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    d = cosine_distances(x, x)
    dist, index = nearest(d, exclude=np.eye(3, dtype=bool))
    assert index.tolist() == [1, 0, 1]
    assert dist[0] == pytest.approx(d[0, 1])


def test_the_side_reader_finds_the_half_with_the_finding() -> None:
    from cxrviewer.synthesis.metrics import mirrored, read_sides

    film = np.zeros((8, 8), np.uint8)
    film[2:4, 6:8] = 200  # on the image's right: the patient's left on a PA film
    assert mirrored(film, "left")[2:4, 0:2].min() == 200
    assert mirrored(film, "right").max() == 0

    def brightness(films):  # a "finding model" that sees one finding: bright pixels
        return np.array([[float(np.asarray(f).max())] for f in films])

    assert read_sides([film, film[:, ::-1]], [0, 0], brightness).tolist() == ["left", "right"]
