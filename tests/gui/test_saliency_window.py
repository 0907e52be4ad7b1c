"""The saliency overlay in the window: computed in the worker for the typed query, drawn over the
film, kept aligned under rotation and flip, exported with the film; and the findings panel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF


@pytest.fixture
def clip_window(qtbot, main_window, clip_library):
    window = main_window
    window.session.search.start(str(clip_library), "Small left pleural effusion.")
    qtbot.waitUntil(lambda: window.session.search.outcome is not None and window.viewer.image is not None
                    and window.is_idle(), timeout=60000)
    route = window.session.search.library.routes[0]
    window.session.search.set_route(route)
    qtbot.waitUntil(window.is_idle, timeout=60000)
    return window


def test_explaining_the_query_draws_an_overlay_over_the_film(qtbot, clip_window):
    window = clip_window
    window.explainer.explain()
    overlay = window.viewer.saliency
    qtbot.waitUntil(lambda: overlay.shown and window.is_idle(), timeout=60000)
    assert overlay.values.min() >= 0 and overlay.values.max() <= 1
    assert overlay.key[2] == ("text", "Small left pleural effusion.")
    assert "on tiny-clip" in overlay.bar.caption.text()
    rect = overlay.item.boundingRect()
    height, width = window.viewer._displayed.shape[:2]
    assert (rect.width() * overlay.item.transform().m11(), rect.height() * overlay.item.transform().m22()) == \
        pytest.approx((width, height))
    window.viewer.saliency.bar.show_box.setChecked(False)
    assert not overlay.item.isVisible()


@pytest.mark.parametrize("turn", ["rotate", "flip"])
def test_overlay_stays_on_the_same_film_pixels_under_rotation_and_flip(qtbot, clip_window, turn):
    viewer = clip_window.viewer
    rows, cols = viewer.image.pixels.shape[1:3]
    spot = np.zeros((64, 64), np.float32)
    spot[8:12, 44:48] = 1.0  # upper right of the film
    viewer.saliency.set_map(spot, ("test",), "test spot")
    viewer.rotate(90) if turn == "rotate" else viewer.flip(True)
    image = viewer.saliency.item.image
    hot_rows, hot_cols = np.nonzero(image > 200)
    height, width = viewer._displayed.shape[:2]
    # The hot pixels' centre in display coordinates, mapped back to the film by the viewer's own
    # inverse (the one measurements use), lands on the spot's place in the film.
    centre = QPointF((hot_cols.mean() + 0.5) / image.shape[1] * width,
                     (hot_rows.mean() + 0.5) / image.shape[0] * height)
    row, col = viewer.source_pixel(centre)
    assert row / rows == pytest.approx(10 / 64, abs=0.05)
    assert col / cols == pytest.approx(46 / 64, abs=0.05)


def test_export_saves_film_and_overlay(qtbot, clip_window, tmp_path):
    from PySide6.QtGui import QImage

    window = clip_window
    viewer = window.viewer
    spot = np.zeros((32, 32), np.float32)
    spot[10:22, 10:22] = 1.0
    viewer.saliency.set_map(spot, ("test",), "test")
    qtbot.wait(50)
    with_map, plain = tmp_path / "map.png", tmp_path / "plain.png"
    assert window.explainer.save_png(str(with_map))
    viewer.saliency.bar.show_box.setChecked(False)
    qtbot.wait(50)
    assert window.explainer.save_png(str(plain))
    a, b = QImage(str(plain)), QImage(str(with_map))
    assert a.size() == b.size() and a != b


def test_findings_panel_falls_back_to_a_finding_model_validated_for_the_film(qtbot, clip_window):
    """The library's CLIP model has no finding head; the demo film is read by the installed model
    validated on synthetic demo films (the shipped demo model), with its validation figures."""
    window = clip_window
    panel = window.findings_panel
    qtbot.waitUntil(lambda: panel.labels and window.is_idle(), timeout=30000)
    assert "demo-clip" in panel.note.text()
    assert "validated here" in panel.footer.text() and "CC0" in panel.footer.text()
    assert "synthetic" in panel.footer.toolTip()
    assert "AUROC" in panel.row_text("Cardiomegaly") and not panel.actions.isVisibleTo(panel)


def test_screenshot_with_query_and_saliency(clip_library, tmp_path, isolated_user_dirs):
    out = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "cxrviewer", "--screenshot", str(out), "--library",
                           str(clip_library), "--query", "cardiomegaly", "--saliency", "--timeout", "120"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    assert "gave up waiting" not in done.stderr
    log_text = (isolated_user_dirs / "log" / "cxrviewer.log").read_text(encoding="utf-8")
    assert "started: --screenshot" in log_text  # the window's log file, in the user's log folder
