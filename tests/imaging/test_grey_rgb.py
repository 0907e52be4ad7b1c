"""Grey films stored as RGB (R = G = B: PadChest exports, COVID collections, TBX11K, many PNG and
JPEG files) are grey films: they window/level, take presets and invert. True colour stays colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cxrviewer.imaging import load_image
from cxrviewer.imaging.display import mapping_for, presets_for, render_uint8
from cxrviewer.imaging.records import Window
from cxrviewer.imaging.synthetic import chest_phantom


def _grey(rows: int = 300, cols: int = 260) -> np.ndarray:
    film = chest_phantom(rows, cols, bits=12, seed=3).astype(np.float64)
    return np.clip(film * 255.0 / 4095.0, 0, 255).astype(np.uint8)


def _save_rgb(path: Path, grey: np.ndarray) -> Path:
    rgb = np.repeat(grey[..., None], 3, axis=2)
    Image.fromarray(rgb, "RGB").save(path, **({"quality": 90} if path.suffix == ".jpg" else {}))
    with Image.open(path) as im:
        assert im.mode == "RGB"  # stored as colour, as those collections do
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_rgb_with_equal_channels_is_a_grey_film_that_windows_and_inverts(tmp_path: Path, suffix: str) -> None:
    grey = _grey()
    image = load_image(str(_save_rgb(tmp_path / f"film{suffix}", grey)))
    assert not image.is_color
    assert image.pixels.shape == (1, *grey.shape) and image.pixels.dtype == np.uint8
    assert image.header.samples_per_pixel == 1 and image.header.photometric == "MONOCHROME2"
    if suffix == ".png":
        assert np.array_equal(image.pixels[0], grey)  # lossless: the very grey levels
    else:  # JPEG: the luminance the encoder kept, as a grey JPEG of the same film keeps it
        Image.fromarray(grey, "L").save(tmp_path / "grey.jpg", quality=90)
        reference = np.asarray(Image.open(tmp_path / "grey.jpg"))
        assert np.abs(image.pixels[0].astype(int) - reference).max() <= 1
    assert [p.name for p in image.presets][:3] == ["Lung", "Mediastinum", "Bone"]

    lo, hi = image.robust_range
    wide = render_uint8(image, 0, mapping_for(image, Window((lo + hi) / 2, hi - lo), False))
    narrow = render_uint8(image, 0, mapping_for(image, Window(lo + 0.3 * (hi - lo), 0.2 * (hi - lo)), False))
    assert wide.ndim == narrow.ndim == 2
    assert np.abs(wide.astype(int) - narrow).mean() > 10  # window/level changes what is shown
    lung = render_uint8(image, 0, mapping_for(image, presets_for(image)[0], False))
    assert not np.array_equal(lung, wide)  # so do presets
    inverted = render_uint8(image, 0, mapping_for(image, Window((lo + hi) / 2, hi - lo), True))
    assert np.abs(wide.astype(int) + inverted - 255).max() <= 1


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_true_colour_stays_colour(tmp_path: Path, suffix: str) -> None:
    """A grey film with a coloured annotation is a colour image: nothing is thrown away."""
    rgb = np.repeat(_grey()[..., None], 3, axis=2)
    rgb[200:240, 150:220] = (220, 40, 40)  # a red arrow burnt in
    path = tmp_path / f"annotated{suffix}"
    Image.fromarray(rgb, "RGB").save(path)
    image = load_image(str(path))
    assert image.is_color and image.pixels.shape == (1, *rgb.shape)
    assert image.pixels[0, 220, 180, 0] > image.pixels[0, 220, 180, 1] + 100


def test_a_faint_tint_is_colour_even_where_the_subsample_misses_it(tmp_path: Path) -> None:
    """The subsample only rules colour in quickly; grey is confirmed on every pixel."""
    rgb = np.repeat(_grey()[..., None], 3, axis=2)
    rgb[101, 1:200:2, 2] = np.minimum(rgb[101, 1:200:2, 2].astype(int) + 40, 255)  # odd rows/cols only
    path = tmp_path / "tinted.png"
    Image.fromarray(rgb, "RGB").save(path)
    assert load_image(str(path)).is_color
