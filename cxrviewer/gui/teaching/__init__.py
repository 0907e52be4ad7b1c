"""The teaching files in the window: the Collections pane, annotation tools on the viewer, the
teaching session (case navigator and quiz), exports and imports.

Nothing here loads before the window has first been drawn: the action table reaches the
controller through :func:`controller_for`, which builds it on first use, and :func:`install` (run
after the first paint) only gives the gallery's tiles their context menu.
"""

from __future__ import annotations

from typing import Any


def controller_for(window: Any) -> Any:
    """The window's :class:`~cxrviewer.gui.teaching.controller.TeachingController`, built on first use."""
    found = getattr(window, "teaching_controller", None)
    if found is None:
        from cxrviewer.gui.teaching.controller import TeachingController

        found = window.teaching_controller = TeachingController(window)
    return found


def install(window: Any) -> None:
    """After the first paint: a right-click on a gallery tile offers to add it to a collection."""
    from PySide6.QtCore import Qt

    gallery = window.results.gallery
    gallery.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    gallery.customContextMenuRequested.connect(lambda pos: controller_for(window).gallery_menu(pos))
