"""A case's annotations and presentation as a DICOM Grayscale Softcopy Presentation State
(highdicom), so other viewers (OsiriX/Horos, Weasis, OHIF) show the teacher's marks on the film.

Graphic data are in PIXEL units, the same corner-based film coordinates the annotations are
kept in. GSPS has no arrow: an arrow is its shaft and its head as two polylines; a freehand
region is a closed polyline; an ellipse is given by its two axes. The window becomes the VOI
LUT, rotation and flips the spatial transformation (DICOM turns first, then mirrors), zoom and
pan the displayed area, and the inversion the presentation LUT.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cxrviewer.imaging.orientation import Orientation
from cxrviewer.teaching.model import Annotation, Presentation
from cxrviewer.teaching.render import view_box

GSPS_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.11.1"
LAYER = "TEACHING"
ARROW_HEAD = math.radians(25)


def presentation_state(film: Any, presentation: Presentation, annotations: tuple[Annotation, ...],
                       sop_instance_uid: str, series_instance_uid: str, label: str = "TEACHING") -> Any:
    """The GSPS (a pydicom Dataset) for ``film`` (an anonymised pydicom Dataset)."""
    import highdicom as hd

    for keyword in ("PatientBirthDate", "StudyID", "StudyDate", "StudyTime", "AccessionNumber",
                    "ReferringPhysicianName", "PatientSex"):
        if keyword not in film:
            setattr(film, keyword, "")
    layer = hd.pr.GraphicLayer(layer_name=LAYER, order=1, description="cxrviewer teaching annotations")
    frames = int(getattr(film, "NumberOfFrames", 1) or 1)
    groups = []
    for frame in sorted({a.frame for a in annotations}):
        marks = [a for a in annotations if a.frame == frame]
        graphics = [g for a in marks for g in _graphic_objects(a)]
        texts = [t for a in marks for t in _text_objects(a)]
        groups.append(hd.pr.GraphicAnnotation(
            referenced_images=[film], graphic_layer=layer,
            referenced_frame_number=frame + 1 if frames > 1 else None,
            graphic_objects=graphics or None, text_objects=texts or None))
    voi = None
    if presentation.window_center is not None and presentation.window_width is not None:
        voi = [hd.pr.SoftcopyVOILUTTransformation(window_center=presentation.window_center,
                                                  window_width=presentation.window_width)]
    inverse = (str(getattr(film, "PhotometricInterpretation", "")) == "MONOCHROME1") != presentation.invert
    state = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[film], series_instance_uid=series_instance_uid, series_number=900,
        sop_instance_uid=sop_instance_uid, instance_number=1, manufacturer="cxrviewer",
        manufacturer_model_name="cxrviewer", software_versions="cxrviewer", device_serial_number="",
        content_label=label, content_description="Teaching file key image",
        graphic_annotations=groups or None, graphic_layers=[layer] if groups else None,
        voi_lut_transformations=voi,
        presentation_lut_transformation=hd.PresentationLUTTransformation(
            presentation_lut_shape="INVERSE" if inverse else "IDENTITY"))
    _spatial(state, presentation.orientation)
    _displayed_area(state, presentation, (int(film.Rows), int(film.Columns)))
    return state


def _graphic_objects(mark: Annotation) -> list[Any]:
    import highdicom as hd

    pts = np.asarray(mark.points, dtype=np.float64)
    units = "PIXEL"
    if mark.kind == "line":
        return [hd.pr.GraphicObject("POLYLINE", pts, units)]
    if mark.kind == "arrow":
        return [hd.pr.GraphicObject("POLYLINE", pts, units),
                hd.pr.GraphicObject("POLYLINE", _head(pts[0], pts[1]), units)]
    if mark.kind == "freehand":
        return [hd.pr.GraphicObject("POLYLINE", np.vstack([pts, pts[:1]]), units)]
    if mark.kind == "ellipse":
        return [hd.pr.GraphicObject("ELLIPSE", ellipse_axes(mark.points), units)]
    return []


def ellipse_axes(corners: tuple[tuple[float, float], ...]) -> np.ndarray:
    """DICOM's four ELLIPSE points (major axis ends, then minor axis ends) from a box's corners."""
    (x0, y0), (x1, y1) = corners
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    horizontal = [(cx - rx, cy), (cx + rx, cy)]
    vertical = [(cx, cy - ry), (cx, cy + ry)]
    return np.asarray(horizontal + vertical if rx >= ry else vertical + horizontal, dtype=np.float64)


def _head(tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    length = float(np.hypot(*(head - tail)))
    size = max(min(length / 3.0, 20.0), 1.0)
    angle = math.atan2(head[1] - tail[1], head[0] - tail[0])
    wing = [(head[0] - size * math.cos(angle + s), head[1] - size * math.sin(angle + s))
            for s in (-ARROW_HEAD, ARROW_HEAD)]
    return np.asarray([wing[0], tuple(head), wing[1]], dtype=np.float64)


def _text_objects(mark: Annotation) -> list[Any]:
    import highdicom as hd

    if not mark.text:
        return []
    x, y = mark.points[0]
    return [hd.pr.TextObject(mark.text, "PIXEL", anchor_point=(x, y),
                             anchor_point_visible=mark.kind != "text")]


def dicom_spatial(orientation: Orientation) -> tuple[int, bool]:
    """(Image Rotation, Image Horizontal Flip) showing what ``orientation`` shows: DICOM
    rotates clockwise first and then mirrors; ours mirrors first. Found by trying the eight."""
    probe = np.arange(6).reshape(2, 3)
    wanted = orientation.apply(probe)
    for rotation in (0, 90, 180, 270):
        for flip in (False, True):
            shown = np.rot90(probe, k=-rotation // 90)
            shown = shown[:, ::-1] if flip else shown
            if shown.shape == wanted.shape and np.array_equal(shown, wanted):
                return rotation, flip
    raise AssertionError(f"no DICOM spatial transformation for {orientation}")  # unreachable: 8 cover all


def _spatial(state: Any, orientation: Orientation) -> None:
    rotation, flip = dicom_spatial(orientation)
    state.ImageRotation = rotation
    state.ImageHorizontalFlip = "Y" if flip else "N"


def _displayed_area(state: Any, presentation: Presentation, shape: tuple[int, int]) -> None:
    """The part of the film on screen (1-based pixel corners) for a zoomed key image."""
    if presentation.zoom <= 1.0 or "DisplayedAreaSelectionSequence" not in state:
        return
    left, top, right, bottom = view_box(presentation, shape)
    corners = [_to_film((x, y), shape, presentation.orientation) for x in (left, right) for y in (top, bottom)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    item = state.DisplayedAreaSelectionSequence[0]
    item.DisplayedAreaTopLeftHandCorner = [max(1, math.floor(min(xs)) + 1), max(1, math.floor(min(ys)) + 1)]
    item.DisplayedAreaBottomRightHandCorner = [min(shape[1], math.ceil(max(xs))),
                                               min(shape[0], math.ceil(max(ys)))]
    item.PresentationSizeMode = "SCALE TO FIT"


def _to_film(point: tuple[float, float], shape: tuple[int, int], orientation: Orientation) -> tuple[float, float]:
    """A point of the turned view back in film coordinates (the inverse of render.to_display)."""
    rows, cols = shape
    x, y = point
    if orientation.rotation == 90:
        x, y = y, rows - x
    elif orientation.rotation == 180:
        x, y = cols - x, rows - y
    elif orientation.rotation == 270:
        x, y = cols - y, x
    if orientation.flip_v:
        y = rows - y
    if orientation.flip_h:
        x = cols - x
    return x, y
