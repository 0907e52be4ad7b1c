"""Drawing a case's key image as the teacher left it: window, inversion, frame, rotation and
flips, zoom and pan, and (for answer views) its annotations burned in, with Pillow.

Annotations are stored in film coordinates; :func:`to_display` carries a point through the
flips and rotation (``imaging.orientation``'s order: flips first, then the clockwise turn), so
the marks land where they were drawn whatever the view. PNGs are written without metadata.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxrviewer.imaging.orientation import Orientation
from cxrviewer.teaching.model import Annotation, Point, Presentation, TeachingError

MAX_SIDE = 1024


def film_pixels(path: str | Path, presentation: Presentation) -> np.ndarray:
    """The film's frame as uint8 (rows, cols[, 3]) through the presentation's window and
    inversion (the film's own default window when the presentation has none)."""
    from cxrviewer.imaging.dicom import load_image
    from cxrviewer.imaging.display import default_preset, mapping_for, render_uint8
    from cxrviewer.imaging.records import ImageReadError, Window

    try:
        image = load_image(str(path))
    except ImageReadError as exc:
        raise TeachingError(f"{path}: {exc.reason}") from None
    if presentation.frame >= image.frames:
        raise TeachingError(f"{path}: frame {presentation.frame + 1} asked, the film has {image.frames}")
    choice = (Window(presentation.window_center, presentation.window_width, "LINEAR")
              if presentation.window_center is not None and presentation.window_width is not None
              else default_preset(image))
    mapping = mapping_for(image, choice, image.invert != presentation.invert)
    return np.ascontiguousarray(render_uint8(image, presentation.frame, mapping))


def to_display(point: Point, shape: tuple[int, ...], orientation: Orientation) -> Point:
    """A film point (x = column, y = row; continuous, corner-based) in the turned view."""
    rows, cols = shape[0], shape[1]
    x, y = point
    if orientation.flip_h:
        x = cols - x
    if orientation.flip_v:
        y = rows - y
    if orientation.rotation == 90:
        x, y = rows - y, x
    elif orientation.rotation == 180:
        x, y = cols - x, rows - y
    elif orientation.rotation == 270:
        x, y = y, cols - x
    return x, y


def view_box(presentation: Presentation, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """The part of the turned view on screen (left, top, right, bottom): the whole film at zoom
    1 or less, else 1/zoom of it about the pan point, kept inside the film."""
    orientation = presentation.orientation
    height, width = orientation.displayed_shape(shape)
    if presentation.zoom <= 1.0:
        return 0.0, 0.0, float(width), float(height)
    centre = (shape[1] / 2.0, shape[0] / 2.0) if presentation.pan_x is None or presentation.pan_y is None \
        else (presentation.pan_x, presentation.pan_y)
    cx, cy = to_display(centre, shape, orientation)
    w, h = width / presentation.zoom, height / presentation.zoom
    left = min(max(cx - w / 2.0, 0.0), width - w)
    top = min(max(cy - h / 2.0, 0.0), height - h)
    return left, top, left + w, top + h


def render(pixels: np.ndarray, presentation: Presentation, annotations: Sequence[Annotation] = (),
           max_side: int = MAX_SIDE) -> object:
    """The key image as a Pillow RGB image, ``max_side`` pixels on its longer side at most,
    with ``annotations`` (those on the presentation's frame) drawn on it."""
    from PIL import Image

    orientation = presentation.orientation
    shown = orientation.apply(pixels)
    left, top, right, bottom = view_box(presentation, pixels.shape)
    image = Image.fromarray(shown).convert("RGB")
    image = image.crop((math.floor(left), math.floor(top),
                        math.ceil(right), math.ceil(bottom)))
    scale = min(max_side / max(image.size), 4.0)  # small films are enlarged, at most 4x
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    image = image.resize(size, Image.Resampling.LANCZOS)
    origin = (math.floor(left), math.floor(top))

    def place(point: Point) -> Point:
        x, y = to_display(point, pixels.shape, orientation)
        return (x - origin[0]) * scale, (y - origin[1]) * scale

    marks = [a for a in annotations if a.frame == presentation.frame]
    if marks:
        _draw(image, marks, place)
    return image


def _draw(image: object, marks: Sequence[Annotation], place: object) -> None:
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(image)  # type: ignore[arg-type]
    side = max(image.size)  # type: ignore[attr-defined]
    width = max(2, round(side / 250))
    font = ImageFont.load_default(size=max(12, round(side / 40)))
    for mark in marks:
        points = [place(p) for p in mark.points]  # type: ignore[operator]
        if mark.kind in ("arrow", "line"):
            draw.line(points, fill=mark.color, width=width)
            if mark.kind == "arrow":
                draw.polygon(_arrow_head(points[0], points[1], width * 5), fill=mark.color)
        elif mark.kind == "ellipse":
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            draw.ellipse((min(xs), min(ys), max(xs), max(ys)), outline=mark.color, width=width)
        elif mark.kind == "freehand":
            draw.line([*points, points[0]], fill=mark.color, width=width, joint="curve")
        if mark.text:
            anchor = points[0]
            draw.text(anchor, mark.text, fill=mark.color, font=font, anchor="mm" if mark.kind == "text" else "rb",
                      stroke_width=max(1, width // 2), stroke_fill="#000000")


def _arrow_head(tail: Point, head: Point, length: float) -> list[Point]:
    angle = math.atan2(head[1] - tail[1], head[0] - tail[0])
    spread = math.radians(25)
    return [head,
            (head[0] - length * math.cos(angle - spread), head[1] - length * math.sin(angle - spread)),
            (head[0] - length * math.cos(angle + spread), head[1] - length * math.sin(angle + spread))]


def png_bytes(image: object) -> bytes:
    """PNG with no metadata (Pillow writes text chunks only when given them)."""
    out = io.BytesIO()
    image.save(out, format="PNG")  # type: ignore[attr-defined]
    return out.getvalue()


def key_image_png(path: str | Path, presentation: Presentation, annotations: Sequence[Annotation] = (),
                  max_side: int = MAX_SIDE) -> bytes:
    """A case's key image as PNG bytes, annotated when ``annotations`` are given."""
    return png_bytes(render(film_pixels(path, presentation), presentation, annotations, max_side))
