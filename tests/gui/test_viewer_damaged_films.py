"""Damaged films in the window: the reason is readable, a damaged tag costs nothing but its own
value, and ``--screenshot`` finishes with the reason instead of waiting out its timeout."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom

PALETTE_REASON = ("PALETTE COLOR image without a usable colour lookup table "
                  "(RedPaletteColorLookupTableDescriptor missing)")


def palette_without_table(path: Path) -> Path:
    """A film whose header says PALETTE COLOR and carries no lookup table."""
    return write_dicom(path, chest_phantom(200, 160, seed=3), extra={"PhotometricInterpretation": "PALETTE COLOR"})


def with_garbage_vr(path: Path, group: int, element: int, vr: bytes, replacement: bytes) -> Path:
    data = bytearray(path.read_bytes())
    at = data.find(struct.pack("<HH", group, element) + vr)
    assert at >= 0
    data[at + 4 : at + 6] = replacement
    path.write_bytes(bytes(data))
    return path


def test_a_film_that_cannot_be_decoded_shows_its_whole_reason_wrapped(qtbot, open_study, main_window, tmp_path) -> None:
    palette_without_table(tmp_path / "study" / "broken.dcm")
    main_window.resize(900, 600)
    window = open_study(tmp_path / "study", expect_image=False)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.error is not None, timeout=10000)
    assert viewer.error == PALETTE_REASON
    message = viewer.message
    assert message.isVisible() and message.plain_text() == f"Cannot show broken.dcm\n\n{PALETTE_REASON}"
    assert viewer.graphics.viewport().rect().contains(message.geometry())
    area = message.contentsRect()
    needed = message.fontMetrics().boundingRect(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                                                message.text())
    assert needed.width() <= area.width() and needed.height() <= area.height()  # nothing clipped
    assert needed.height() >= 4 * message.fontMetrics().height()  # the reason wraps onto lines of its own
    assert window.tags.nodes == ()  # no other film's tags left beside the reason
    assert PALETTE_REASON in window.statusBar().currentMessage()


def test_a_damaged_file_meta_is_skipped_with_its_reason_and_the_scan_goes_on(qtbot, open_study, tmp_path) -> None:
    """The file sorted first has a damaged (0002,0000): the scan used to stop there, silently."""
    study = SyntheticStudy(patient_name="Doe^Jane")
    for name, seed in (("a.dcm", 5), ("b.dcm", 6), ("c.dcm", 7)):
        write_dicom(tmp_path / "study" / name, chest_phantom(120, 100, seed=seed), study=study, instance_number=seed)
    first = tmp_path / "study" / "a.dcm"
    data = bytearray(first.read_bytes())
    at = data.find(struct.pack("<HH", 0x0002, 0x0000) + b"UL")
    struct.pack_into("<H", data, at + 6, 3)  # the group length's length: 3 bytes for a UL
    del data[at + 8 + 3]
    first.write_bytes(bytes(data))
    window = open_study(tmp_path / "study")
    assert window.session.study.tree.image_count == 2
    issues = window.browser.issues
    listed = [(issues.topLevelItem(i).text(0), issues.topLevelItem(i).text(1))
              for i in range(issues.topLevelItemCount())]
    assert listed == [("a.dcm", "damaged file meta: (0002,0000) FileMetaInformationGroupLength: "
                                "3 bytes is not a whole number of UL values")]
    assert "Scan stopped" not in window.statusBar().currentMessage()


def test_a_film_with_a_damaged_tag_shows_and_the_tag_is_marked(qtbot, open_study, tmp_path) -> None:
    path = write_dicom(tmp_path / "study" / "a.dcm", chest_phantom(200, 160, seed=4),
                       extra={"StudyDescription": "Chest PA"})
    with_garbage_vr(path, 0x0008, 0x1030, b"LO", b"XG")
    window = open_study(tmp_path / "study")
    assert window.viewer.image is not None and window.viewer.error is None
    tree = window.tags.tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(0) == "(0008,1030)")
    assert item.text(3) == "Chest PA"
    assert item.toolTip(0) == "Damaged element: VR 'XG' is not a DICOM VR; read as LO"
    assert item.foreground(0).color() != tree.topLevelItem(0).foreground(0).color()
    assert "damaged element" in window.statusBar().currentMessage()


@pytest.mark.timeout(120)
def test_screenshot_of_a_film_that_cannot_be_decoded_finishes_with_the_reason(tmp_path, isolated_user_dirs) -> None:
    broken = palette_without_table(tmp_path / "study" / "broken.dcm")
    out = tmp_path / "shot.png"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cxrviewer", "--screenshot", str(out), str(broken),
                           "--timeout", "60", "--size", "900x600"], capture_output=True, text=True, timeout=110)
    seconds = time.monotonic() - started
    assert "gave up waiting" not in done.stderr
    assert seconds < 40, f"took {seconds:.0f} s: waited out its timeout?"
    assert done.returncode == 1
    assert f"cxrviewer: cannot show broken.dcm: {PALETTE_REASON}" in done.stderr
    assert out.stat().st_size > 5000
    from PIL import Image

    shot = np.asarray(Image.open(out).convert("L"))
    assert shot.shape == (600, 900)
