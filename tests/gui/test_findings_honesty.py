"""The findings panel on a real film: no demo-model number, the reason in plain words, and the two
ways out (import a model, train one); on a demo film, each probability beside its validation
AUROC, weak findings greyed, and the status bar naming the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom


@pytest.fixture
def window_on_demo_library(qtbot, main_window, demo_library):
    window = main_window
    window.session.search.start(str(demo_library))
    qtbot.waitUntil(lambda: window.session.search.library is not None and window.is_idle(), timeout=60000)
    return window


def test_a_real_film_shows_no_probability_and_offers_import_and_training(qtbot, window_on_demo_library, tmp_path):
    window = window_on_demo_library
    film = write_dicom(tmp_path / "real" / "pa.dcm", chest_phantom(300, 300, seed=5),
                       study=SyntheticStudy(patient_name="Doe^John", patient_id="MRN1"))
    window.session.open_path(str(film.parent))
    panel = window.findings_panel
    qtbot.waitUntil(lambda: panel.refused != "" and window.is_idle(), timeout=30000)
    assert "No model validated on real films is installed" in panel.note.text()
    assert panel.labels == () and panel.probabilities == () and not panel.plot.isVisibleTo(panel)
    assert panel.actions.isVisibleTo(panel)
    assert panel.import_button.text().startswith("Import a model") and "Train" in panel.train_button.text()
    assert window.explainer.model_label.text() == "Findings: no validated model"
    window.grab().save(str(Path(tmp_path) / "refused.png"))


def test_a_demo_film_shows_validation_auroc_and_greys_weak_findings(qtbot, window_on_demo_library, demo_dataset):
    window = window_on_demo_library
    window.session.open_path(str(sorted(demo_dataset.glob("*/*/image.dcm"))[0]))
    panel = window.findings_panel
    qtbot.waitUntil(lambda: bool(panel.labels) and window.is_idle(), timeout=30000)
    assert "AUROC 0.9" in panel.row_text("Cardiomegaly") and "(greyed)" not in panel.row_text("Cardiomegaly")
    assert "(greyed)" in panel.row_text("Fracture")
    assert "AUROC below 0.7" in panel.footer.text() and "validated here on 600 synthetic films" in panel.footer.text()
    assert window.explainer.model_label.text() == "Findings: demo-clip"
    assert "synthetic" in window.explainer.model_label.toolTip()
    from cxrviewer.gui.dialogs import about_text

    assert "• demo-clip: licence: CC0-1.0" in about_text(window)  # About names the model and its licence


def test_the_import_button_asks_before_unpickling(qtbot, window_on_demo_library, tmp_path, monkeypatch):
    """A pickled weights file is imported only after the user says it is trusted."""
    from PySide6.QtWidgets import QMessageBox

    from cxrviewer.gui import model_import

    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"not really a pickle")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    assert model_import.import_model(window_on_demo_library, str(weights), name="x") is None
    assert asked and str(weights) in asked[0] and "pickle" in asked[0]
    assert "not trusted" in window_on_demo_library.statusBar().currentMessage()
