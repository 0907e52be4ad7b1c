"""The window as a radiologist uses it: open, look, adjust, measure, anonymise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def mouse_drag(widget, button: Qt.MouseButton, start: QPointF, end: QPointF, steps: int = 8) -> None:
    """A real press-move-release sequence (QTest's mouseMove cannot hold a button down)."""
    def send(kind, pos, buttons):
        pressed = button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), pressed, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    send(QEvent.Type.MouseButtonPress, start, button)
    for i in range(1, steps + 1):
        send(QEvent.Type.MouseMove, start + (end - start) * (i / steps), button)
        QApplication.processEvents()
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def rendered_grey(viewer) -> np.ndarray:
    """What the ImageItem draws, as grey levels (its QImage may be indexed with a colour table)."""
    from PySide6.QtGui import QImage

    viewer.item.render()
    image = viewer.item.qimage.convertToFormat(QImage.Format.Format_Grayscale8)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width()].copy()


def view_to_widget(viewer, x: float, y: float) -> QPointF:
    scene = viewer.view.mapViewToScene(QPointF(x, y))
    return QPointF(viewer.graphics.mapFromScene(scene))


def test_open_folder_shows_image_tree_thumbnails_and_report(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    assert window.session.study.tree.image_count == 2
    assert window.viewer.image.header.patient_name == "Doe^Jane"
    assert window.viewer.item.image is not None and window.viewer.item.image.shape == (400, 360)
    qtbot.waitUntil(lambda: window.strip.thumbnails_loaded() == 2)
    sections = dict(window.report_pane.report.sections)
    assert "Mild cardiomegaly" in next(v for k, v in sections.items() if "mpression" in k)
    assert "Small left pleural effusion" in window.report_pane.plain_text()


def test_the_series_strip_shows_only_for_a_series_of_films(qtbot, open_study, teaching_study: Path,
                                                           tmp_path: Path) -> None:
    from cxrviewer.imaging.synthetic import write_dicom

    single = tmp_path / "single"
    write_dicom(single / "only.dcm", (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 7) & 0x0FFF)
    window = open_study(single)
    assert window.strip.isHidden(), "one film: no strip, the viewer gets the room"
    open_study(teaching_study)
    assert window.strip.isVisible() and window.strip.count() == 2
    open_study(single)
    assert window.strip.isHidden() and window.strip.count() == 1


def test_an_empty_window_has_no_blank_strip_under_the_viewer(main_window) -> None:
    assert main_window.strip.isHidden()
    assert main_window.strip.count() == 0


def test_right_drag_changes_window_level_and_presets_reset_it(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    window.session.film.open(str(teaching_study / "pa.dcm"))  # the film whose header carries a window
    qtbot.waitUntil(lambda: window.is_idle() and window.viewer.image.header.path.endswith("pa.dcm"))
    viewer = window.viewer
    before = viewer.window
    levels_before = tuple(viewer.item.levels)
    centre = QPointF(viewer.graphics.viewport().width() / 2, viewer.graphics.viewport().height() / 2)
    mouse_drag(viewer.graphics.viewport(), Qt.MouseButton.RightButton, centre, centre + QPointF(120, 60))
    qtbot.waitUntil(lambda: viewer.window != before)
    assert viewer.window.width > before.width  # dragging right widens the window
    assert tuple(viewer.item.levels) != levels_before
    window.viewer_controls.apply_preset(0)
    assert viewer.window == viewer.presets[0].window
    assert viewer.presets[0].name and viewer.presets[0].source == "file"
    assert any(p.name.lower().startswith("auto") for p in viewer.presets)


def test_invert_reverses_the_lookup_table(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    viewer = window.viewer
    shown = rendered_grey(viewer)
    window.invert_action.trigger()
    qtbot.waitUntil(lambda: viewer.user_invert)
    inverted = rendered_grey(viewer)
    assert shown.shape == inverted.shape == (400, 360)
    # Inversion maps grey g to 255 - g (to within LUT rounding), pixel by pixel.
    assert np.abs(shown.astype(int) + inverted.astype(int) - 255).max() <= 2
    assert shown.std() > 20  # a real picture, not a flat field
    assert "inverted" in window.wl_label.text()


def test_a_grey_film_stored_as_rgb_takes_presets_and_inverts(qtbot, open_study, tmp_path: Path) -> None:
    """PadChest, COVID and TBX11K films are often RGB JPEGs with R = G = B: grey films all the same."""
    from PIL import Image

    from cxrviewer.imaging.synthetic import chest_phantom

    grey = (chest_phantom(300, 260, bits=12, seed=3) // 16).astype(np.uint8)
    folder = tmp_path / "export"
    folder.mkdir()
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB").save(folder / "film.jpg", quality=92)
    window = open_study(folder)
    viewer = window.viewer
    shown = rendered_grey(viewer)
    window.viewer_controls.apply_preset(0)  # Lung
    lung = rendered_grey(viewer)
    assert np.abs(shown.astype(int) - lung).mean() > 5, "the preset changed nothing on screen"
    window.invert_action.trigger()
    qtbot.waitUntil(lambda: viewer.user_invert)
    inverted = rendered_grey(viewer)
    assert np.abs(lung.astype(int) + inverted.astype(int) - 255).max() <= 2
    assert not viewer.image.is_color and "Lung" in window.wl_label.text()


def test_length_measurement_in_mm_from_pixel_spacing(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    viewer = window.viewer
    window.viewer_controls.set_tool("measure")
    mouse_drag(viewer.graphics.viewport(), Qt.MouseButton.LeftButton, view_to_widget(viewer, 50, 100),
               view_to_widget(viewer, 250, 100))
    m = viewer.last_measurement()
    assert m is not None and m.unit == "mm"
    assert m.value == pytest.approx(100.0, rel=0.03)  # 200 px x 0.5 mm
    assert "PixelSpacing" in viewer.measurement_summary()


def test_measurement_follows_rotation_back_to_source_pixels(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    viewer = window.viewer
    viewer.rotate(90)
    assert viewer.item.image.shape == (360, 400)
    window.viewer_controls.set_tool("measure")
    mouse_drag(viewer.graphics.viewport(), Qt.MouseButton.LeftButton, view_to_widget(viewer, 100, 20),
               view_to_widget(viewer, 100, 320))
    assert viewer.last_measurement().value == pytest.approx(150.0, rel=0.03)


def test_cardiothoracic_ratio_tool(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    viewer = window.viewer
    window.viewer_controls.set_tool("ctr")
    port = viewer.graphics.viewport()
    mouse_drag(port, Qt.MouseButton.LeftButton, view_to_widget(viewer, 130, 250), view_to_widget(viewer, 230, 250))
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # two quick presses would be a double-click
    mouse_drag(port, Qt.MouseButton.LeftButton, view_to_widget(viewer, 30, 200), view_to_widget(viewer, 330, 215))
    summary = viewer.measurement_summary()
    assert "CTR 0.33" in summary, summary


def test_anonymise_hides_identifying_data_everywhere(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    qtbot.waitUntil(lambda: window.report_pane.report is not None)
    overlays = " ".join(window.viewer.overlay_texts().values())
    assert "Doe^Jane" in overlays and "MRN123456" in overlays
    window.anonymise_action.trigger()
    assert window.anonymise_action.isChecked()
    shown = [
        " ".join(window.viewer.overlay_texts().values()),
        window.browser.model.index(0, 0).data(),
        " ".join(window.tags.visible_values()),
        window.report_pane.plain_text(),
        window.windowTitle(),
    ]
    for text in shown:
        for secret in ("Doe", "Jane", "MRN123456", "St Example Hospital", "19700101"):
            assert secret not in text, (secret, text)
    assert "Patient 1" in shown[0]
    assert "054Y" in shown[0]  # age and sex stay: they matter for teaching
    window.anonymise_action.trigger()
    assert "Doe^Jane" in " ".join(window.viewer.overlay_texts().values())


def test_pixel_readout_reports_stored_and_modality_values(qtbot, open_study, teaching_study: Path) -> None:
    window = open_study(teaching_study)
    viewer = window.viewer
    row, col = viewer.source_pixel(QPointF(10.5, 20.5))
    assert (row, col) == (20, 10)
    text = viewer.describe_pixel(row, col)
    expected = int(viewer.image.pixels[0, 20, 10])
    assert f"stored {expected}" in text


def test_pixel_readout_stays_visible_beside_status_messages(qtbot, open_study, teaching_study: Path) -> None:
    """Status messages (scan summary, hints, search timings) must not hide the readout."""
    window = open_study(teaching_study)
    viewer = window.viewer
    window.viewer_controls.set_tool("measure")  # shows a hint in the status bar, as scans and searches do
    window.statusBar().showMessage("Scan finished: 2 images")
    assert window.statusBar().currentMessage()
    port = viewer.graphics.viewport()
    for x in (100.5, 101.5):  # a move over the film, as the mouse passes
        pos = view_to_widget(viewer, x, 120.5)
        QApplication.sendEvent(port, QMouseEvent(QEvent.Type.MouseMove, pos, port.mapToGlobal(pos),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                 Qt.KeyboardModifier.NoModifier))
        QApplication.processEvents()
    assert window.pixel_label.isVisible()
    import re

    shown = window.pixel_label.text()
    col, row = (int(v) for v in re.match(r"x (\d+)  y (\d+)", shown).groups())
    assert abs(col - 101) <= 1 and abs(row - 120) <= 1  # where the mouse is (to the widget's pixel)
    assert f"stored {int(viewer.image.pixels[0, row, col])}" in shown
    assert window.statusBar().currentMessage() == "Scan finished: 2 images"  # both are shown


def test_shortcuts_are_listed_in_help(qtbot, main_window) -> None:
    keys = {action: keys for _, action, keys in main_window.shortcut_table}
    assert keys["Invert"] == "I" and keys["Measure length"] == "L"
    main_window.dialogs.show_shortcuts()
    assert main_window.dialogs.shortcuts_dialog.isVisible()
    main_window.dialogs.shortcuts_dialog.close()


def test_real_chest_radiographs_display(qtbot, open_study, dicom_dir: Path) -> None:
    window = open_study(dicom_dir / "chest", timeout=60000)
    assert window.session.study.tree.image_count == 3
    assert window.session.study.tree.issue_count() == 0
    for path in sorted(window.session.study.tree.headers):
        window.session.film.open(path)
        qtbot.waitUntil(lambda path=path: window.is_idle() and window.viewer.image is not None
                        and window.viewer.image.header.path == path, timeout=30000)
        shown = window.viewer.item.image
        assert shown is not None and shown.size > 0
        if Path(path).name == "RG1_J2KI.dcm":
            assert window.viewer.image.invert  # MONOCHROME1 shown inverted once
            assert window.viewer.image.spacing is None


def test_malformed_files_are_listed_with_reasons_and_never_crash(qtbot, open_study, dicom_dir: Path) -> None:
    window = open_study(dicom_dir / "malformed", timeout=60000, expect_image=False)
    reasons = {}
    for i in range(window.browser.issues.topLevelItemCount()):
        item = window.browser.issues.topLevelItem(i)
        reasons[item.text(0)] = item.text(1)
    assert reasons.get("empty.dcm", "").startswith("empty file")
    assert "HTML" in reasons.get("html_named_dcm.dcm", "")
    for path in list(window.session.study.tree.headers):
        window.session.film.open(path)
        qtbot.waitUntil(window.is_idle, timeout=30000)
    assert window.isVisible()


def test_the_session_knows_how_the_film_is_shown_and_can_show_it_so_again(qtbot, open_study,
                                                                          teaching_study: Path) -> None:
    """The view's presentation (window, inversion, zoom and pan, turn, frame) is the session's,
    as teaching files store it; a saved one is shown again exactly."""
    from cxrviewer.imaging.records import Window
    from cxrviewer.teaching.model import Presentation

    window = open_study(teaching_study)
    film, viewer = window.session.film, window.viewer
    qtbot.waitUntil(lambda: film.presentation is not None)
    assert film.presentation.rotation == 0 and film.presentation.zoom == 1.0
    seen = []
    film.events.presentation.connect(seen.append)
    viewer.rotate(90)  # the user turns the film: the session hears of it once the view rests
    qtbot.waitUntil(lambda: film.presentation.rotation == 90)
    assert len(seen) == 1

    key_image = Presentation(1200.0, 1800.0, True, 2.0, 100.0, 150.0, 270, True, False, 0)
    film.show_presentation(key_image)
    assert viewer.window == Window(1200.0, 1800.0) and viewer.user_invert
    assert (viewer.orientation.rotation, viewer.orientation.flip_h) == (270, True)
    shown = film.presentation
    assert (shown.window_center, shown.window_width, shown.invert, shown.rotation, shown.flip_h) == \
        (1200.0, 1800.0, True, 270, True)
    assert shown.zoom == pytest.approx(2.0, rel=0.02)
    assert (shown.pan_x, shown.pan_y) == (pytest.approx(100.0, abs=2), pytest.approx(150.0, abs=2))
