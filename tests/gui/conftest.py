from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom


@pytest.fixture
def main_window(qtbot):
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.main_window import MainWindow
    from cxrviewer.settings import Settings

    create_app()
    window = MainWindow(Settings())
    window.persist_settings = False
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    for jobs in window.session.workers.all():
        thread = jobs.thread
        assert thread is None or not thread.is_alive(), f"{thread.name} still running after close"
    assert not [t for t in threading.enumerate() if t.name.startswith("cxrviewer-") and t.is_alive()]


@pytest.fixture
def open_study(qtbot, main_window):
    """Open a path in the window and wait until the scan, image, thumbnails and report are in."""

    def open_(path: Path, timeout: int = 30000, expect_image: bool = True):
        main_window.session.open_path(str(path))
        qtbot.waitUntil(lambda: main_window.session.study.root is not None and main_window.is_idle()
                        and (main_window.viewer.image is not None or not expect_image), timeout=timeout)
        return main_window

    return open_


@pytest.fixture
def teaching_study(tmp_path: Path) -> Path:
    """Two calibrated PA/lateral images of "Doe^Jane" with a report beside them."""
    folder = tmp_path / "study"
    study = SyntheticStudy(patient_name="Doe^Jane", patient_id="MRN123456", institution="St Example Hospital")
    write_dicom(folder / "pa.dcm", chest_phantom(400, 360, seed=1), study=study, pixel_spacing=(0.5, 0.5),
                instance_number=1, window=(2048, 4096))
    write_dicom(folder / "lat.dcm", chest_phantom(400, 360, seed=2), study=study, pixel_spacing=(0.5, 0.5),
                instance_number=2, view_position="LL")
    (folder / "report.txt").write_text(
        "INDICATION: Cough. Patient Jane Doe.\n\n"
        "FINDINGS: The heart is mildly enlarged. Small left pleural effusion.\n\n"
        "IMPRESSION: Mild cardiomegaly. Small left effusion.\n"
    )
    return folder
