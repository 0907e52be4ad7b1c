"""Decoding only what a target size needs: a large JPEG is decoded at a fraction of its size in
the DCT domain for thumbnails and model inputs, with the same picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cxrviewer.imaging.synthetic import chest_phantom
from cxrviewer.library.prepare import decode_and_shrink, load, prepare_image, windowed


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory) -> Path:
    film = (chest_phantom(2000, 1600, bits=12, seed=4) >> 4).astype(np.uint8)
    path = tmp_path_factory.mktemp("big") / "film.jpg"
    Image.fromarray(film).save(path, quality=95)
    return path


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_with_the_same_picture(big_jpeg: Path):
    full, reduced = load(str(big_jpeg)), load(str(big_jpeg), 256)
    assert (full.rows, full.columns) == (2000, 1600)
    assert min(reduced.rows, reduced.columns) >= 256 and reduced.rows <= 2000 // 4  # 1/4 or 1/8 scale
    assert (reduced.header.rows, reduced.header.columns) == (2000, 1600)  # the film's true size
    a, b = windowed(full, 256), windowed(reduced, 256)
    assert a.shape == b.shape
    # The same picture; the automatic window (0.5-99.5 percentiles: no file window in a JPEG) is a
    # little tighter on the reduced decode, whose DCT scaling averages the pixel noise away.
    assert float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) > 0.98
    assert float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) < 10.0
    assert np.array_equal(decode_and_shrink(str(big_jpeg), 0, 256, reduced=False), a)


def test_the_build_decodes_reduced_unless_the_model_needs_the_full_film(big_jpeg: Path, monkeypatch):
    from cxrviewer.library import prepare

    asked = []
    real = prepare.load
    monkeypatch.setattr(prepare, "load", lambda path, reduce_to=0: asked.append(reduce_to) or real(path, reduce_to))
    squash = prepare_image((str(big_jpeg), 0, 256, 224, "", "squash"))
    xrv = prepare_image((str(big_jpeg), 0, 256, 224, "", "torchxrayvision"))
    assert asked == [256, 0] and not squash.error and not xrv.error
    assert squash.model_input.shape == (224, 224) and xrv.model_input.shape == (1, 224, 224)
