"""Key images: annotations follow rotation, flips and zoom; the presentation's window is used."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from cxrviewer.imaging.orientation import Orientation
from cxrviewer.teaching.gsps import _to_film, dicom_spatial
from cxrviewer.teaching.model import Annotation, Presentation
from cxrviewer.teaching.render import key_image_png, render, to_display, view_box

ORIENTATIONS = [Orientation(r, h, v) for r, h, v in itertools.product((0, 90, 180, 270), (False, True), (False, True))]


@pytest.mark.parametrize("orientation", ORIENTATIONS, ids=str)
def test_points_go_where_the_pixels_go(orientation):
    shape = (5, 7)
    for r, c in itertools.product(range(shape[0]), range(shape[1])):
        marked = np.zeros(shape, np.uint8)
        marked[r, c] = 1
        (rows,), (cols,) = np.nonzero(orientation.apply(marked))
        assert to_display((c + 0.5, r + 0.5), shape, orientation) == (cols + 0.5, rows + 0.5)
        assert _to_film((cols + 0.5, rows + 0.5), shape, orientation) == (c + 0.5, r + 0.5)


def _yellow(image) -> np.ndarray:
    rgb = np.asarray(image).astype(int)
    return (rgb[..., 0] > 200) & (rgb[..., 1] > 180) & (rgb[..., 2] < 80)


def test_a_burned_in_line_follows_the_turned_film():
    film = np.full((64, 48), 90, np.uint8)
    line = Annotation("line", ((10, 10), (10, 30)))  # vertical, 10 px from the film's left edge
    plain = _yellow(render(film, Presentation(), [line], max_side=256))  # 4x: 192 x 256
    rows, cols = np.nonzero(plain)
    assert abs(cols.mean() - 40) < 4 and rows.min() >= 36 and rows.max() <= 124
    turned = _yellow(render(film, Presentation(rotation=90), [line], max_side=256))  # 4x, now 48 x 64
    rows, cols = np.nonzero(turned)
    # rotated clockwise: film x = 10 becomes view row 10; film rows 10..30 become view columns 54..34
    assert abs(rows.mean() - 40) < 4 and cols.min() >= 132 and cols.max() <= 220
    mirrored = _yellow(render(film, Presentation(flip_h=True), [line], max_side=256))
    assert abs(np.nonzero(mirrored)[1].mean() - (48 - 10) * 4) < 4
    other_frame = _yellow(render(film, Presentation(), [Annotation("line", ((10, 10), (10, 30)), frame=1)]))
    assert not other_frame.any()  # a mark on another frame is not drawn on this one


def test_zoom_shows_the_part_about_the_pan_point_and_stays_inside():
    shape = (100, 200)
    assert view_box(Presentation(), shape) == (0, 0, 200, 100)
    assert view_box(Presentation(zoom=2.0, pan_x=100, pan_y=50), shape) == (50, 25, 150, 75)
    assert view_box(Presentation(zoom=4.0, pan_x=0, pan_y=0), shape) == (0, 0, 50, 25)
    film = np.zeros(shape, np.uint8)
    film[:, 150:] = 255  # right quarter white
    zoomed = np.asarray(render(film, Presentation(zoom=4.0, pan_x=190, pan_y=50), max_side=50))
    assert zoomed.mean() > 250  # only the white part is on screen
    mark = Annotation("ellipse", ((160, 40), (180, 60)))
    drawn = _yellow(render(film * 0, Presentation(zoom=2.0, pan_x=150, pan_y=50), [mark], max_side=100))
    rows, cols = np.nonzero(drawn)  # the view is x 100..200, y 25..75: the ellipse at x 60..80, y 15..35
    assert cols.min() >= 55 and cols.max() <= 85 and rows.min() >= 10 and rows.max() <= 40


def test_key_image_uses_the_window_and_writes_no_metadata(tmp_path):
    from cxrviewer.imaging.synthetic import write_dicom

    pixels = np.zeros((32, 32), np.uint16)
    pixels[:, 16:] = 1000
    path = write_dicom(tmp_path / "f.dcm", pixels, bits_stored=12)
    png = key_image_png(path, Presentation(window_center=500.0, window_width=200.0), max_side=32)
    image = Image.open(io.BytesIO(png))
    assert image.info == {} or set(image.info) <= {"dpi", "gamma"}
    grey = np.asarray(image.convert("L"))
    assert grey[:, :14].max() == 0 and grey[:, 18:].min() == 255
    inverted_png = key_image_png(path, Presentation(invert=True), max_side=32)
    inverted = np.asarray(Image.open(io.BytesIO(inverted_png)).convert("L"))
    assert inverted[:, :14].min() == 255


def test_dicom_spatial_transformation_turns_before_it_mirrors():
    assert dicom_spatial(Orientation()) == (0, False)
    assert dicom_spatial(Orientation(90)) == (90, False)
    assert dicom_spatial(Orientation(0, flip_h=True)) == (0, True)
    assert dicom_spatial(Orientation(0, flip_v=True)) == (180, True)
    assert dicom_spatial(Orientation(90, flip_h=True)) == (270, True)
