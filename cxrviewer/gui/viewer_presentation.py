"""How the viewer shows its film, as the teaching files store it (``teaching.model.Presentation``:
window, inversion, zoom about a point of the film, rotation and flips, frame): read from the
viewer for the session model, and applied to it (a key image shown again as it was saved)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF

from cxrviewer.gui.viewer_tools import source_point
from cxrviewer.imaging.orientation import Orientation
from cxrviewer.imaging.records import Window
from cxrviewer.teaching.model import Presentation

if TYPE_CHECKING:
    from cxrviewer.gui.viewer import ImageViewer


def presentation_of(viewer: ImageViewer) -> Presentation | None:
    """The viewer's film as shown now (None with no film)."""
    if viewer.image is None or viewer._displayed is None:
        return None
    height, width = viewer._displayed.shape[:2]
    (x0, x1), (y0, y1) = viewer.view.viewRange()
    zoom = max(width / max(x1 - x0, 1e-9), height / max(y1 - y0, 1e-9))
    pan_x = pan_y = None
    if zoom > 1.0 + 1e-3:
        row, col = source_point(viewer.orientation, (y0 + y1) / 2, (x0 + x1) / 2, viewer.source_shape())
        pan_x, pan_y = round(col, 1), round(row, 1)
    window = viewer.window if viewer.voi_preset is None and not viewer.image.is_color else None
    o = viewer.orientation
    return Presentation(window.center if window else None, window.width if window else None, viewer.user_invert,
                        round(max(zoom, 1.0), 3) if pan_x is not None else 1.0, pan_x, pan_y,
                        o.rotation, o.flip_h, o.flip_v, viewer.frame)


def apply_presentation(viewer: ImageViewer, presentation: Presentation) -> None:
    """Show the viewer's film as ``presentation`` says (the film's default window when it has none)."""
    from cxrviewer.teaching.render import view_box

    if viewer.image is None:
        return
    p = presentation
    orientation = Orientation(p.rotation, p.flip_h, p.flip_v)
    if orientation != viewer.orientation:
        viewer._reorient(orientation)
    viewer.set_frame(min(p.frame, viewer.image.display_pixels.shape[0] - 1))
    if p.window_center is not None and p.window_width is not None:
        viewer.set_window(Window(p.window_center, p.window_width), "Key image")
    elif viewer.opened is not None:
        viewer.apply_preset(viewer.opened.default_preset)
    if viewer.user_invert != p.invert:
        viewer.toggle_invert()
    if p.zoom <= 1.0:
        viewer.fit()
        return
    left, top, right, bottom = view_box(p, viewer.source_shape())
    viewer.view.setRange(QRectF(left, top, right - left, bottom - top), padding=0.0)
