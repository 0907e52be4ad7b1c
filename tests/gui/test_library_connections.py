"""The window's connections to a library (the search worker's, the gallery's thumbnails and the
case of a film opened from disk) are closed when the window closes and leave no -wal or -shm
files beside the database; and each of them opens a library this account cannot write."""

from __future__ import annotations

import os
from pathlib import Path

from dataset_trees import nih_tree

from cxrviewer.library.build import BuildOptions, build_library

SIDE_FILES = ("library.sqlite-wal", "library.sqlite-shm")


def _use_every_connection(qtbot, window, folder: Path, root: Path) -> None:
    """Search (the search worker), show the thumbnails (the gallery's connection) and open a film
    from the dataset's folder (its case is looked up on a third connection)."""
    window.session.search.start(str(folder))
    qtbot.waitUntil(lambda: window.session.search.library is not None and window.is_idle(), timeout=30000)
    window.results.query.setText("Cardiomegaly.")
    window.results.request_search()  # as Enter in the search box
    qtbot.waitUntil(lambda: window.session.search.outcome is not None and window.is_idle(), timeout=30000)
    model = window.results.model
    qtbot.waitUntil(lambda: model.thumbnails_complete(window.results.visible_rows()), timeout=10000)
    window.session.open_path(str(root / "images_001" / "images"))
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle()
                    and "Cardiomegaly: present" in window.report_pane.plain_text(), timeout=30000)
    controller = window.session.search
    assert controller.service.libraries and controller.thumbs.stores and controller.film_cases.libraries


def test_closing_the_window_closes_every_connection_and_leaves_no_wal_or_shm(qtbot, main_window, tmp_path):
    root = nih_tree(tmp_path / "nih")
    folder = tmp_path / "lib"
    build_library(BuildOptions("nih", root, folder, workers=1))
    _use_every_connection(qtbot, main_window, folder, root)
    controller = main_window.session.search
    # a finished library is read immutable (library.versions): nothing beside it even while open
    assert not [name for name in SIDE_FILES if (folder / name).exists()]
    main_window.close()
    assert not controller.service.libraries and not controller.thumbs.stores and not controller.film_cases.libraries
    assert not [name for name in SIDE_FILES if (folder / name).exists()]


def test_every_connection_of_the_window_opens_a_library_it_cannot_write(qtbot, main_window, tmp_path, monkeypatch):
    root = nih_tree(tmp_path / "nih")
    folder = tmp_path / "archived"
    build_library(BuildOptions("nih", root, folder, workers=1))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK and str(folder) in str(p)
                        else real_access(p, mode, **kw))
    _use_every_connection(qtbot, main_window, folder, root)
    controller = main_window.session.search
    stores = [library.store for library in controller.service.libraries.values()]
    stores += list(controller.thumbs.stores.values())
    stores += [library.store for library in controller.film_cases.libraries.values()]
    assert not [name for name in SIDE_FILES if (folder / name).exists()]  # nothing written beside it
    assert len(stores) == 3 and all(store.read_only for store in stores)
