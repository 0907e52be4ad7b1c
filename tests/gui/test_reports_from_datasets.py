"""A CheXpert, NIH or MIMIC film shows what its dataset knows about it in the report pane: the
labels of the dataset's table (marked as such) and the CheXpert Plus or MIMIC report when there
is one, whether the film was opened from a search result or from the dataset's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import CHEXPERT_FOLDER, MIMIC_FILMS, chexpert_tree, mimic_image, mimic_tree, nih_tree
from PySide6.QtCore import Qt

from cxrviewer.library.build import BuildOptions, build_library

DATASET_LABELS = "Labels from the dataset's table"


@pytest.fixture
def with_library(qtbot, main_window, tmp_path: Path):
    """Build a library of ``dataset`` from the tree at ``root`` and open it in the window."""

    def open_(dataset: str, root: Path):
        folder = tmp_path / f"{dataset}-library"
        build_library(BuildOptions(dataset, root, folder, workers=1))
        main_window.session.search.start(str(folder))
        qtbot.waitUntil(lambda: main_window.session.search.library is not None and main_window.is_idle(), timeout=30000)
        return main_window

    return open_


def _report_after(qtbot, window, action) -> str:
    action()
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle()
                    and window.viewer.image.header.path == window.session.film.path, timeout=30000)
    return window.report_pane.plain_text()


def test_a_search_result_without_a_report_shows_its_dataset_labels(qtbot, with_library, tmp_path: Path) -> None:
    window = with_library("chexpert", chexpert_tree(tmp_path / "data"))
    window.results.query.setText("Edema.")
    window.results.request_search()
    qtbot.waitUntil(lambda: window.session.search.outcome is not None and window.is_idle(), timeout=30000)
    hit = window.session.search.outcome.hits[0]
    assert hit.case.case_id == "chexpert:patient00002/study1/view1_frontal" and not hit.case.report.body
    gallery = window.results.gallery

    def click() -> None:
        qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton,
                         pos=gallery.visualRect(window.results.model.index(0)).center())

    text = _report_after(qtbot, window, click)
    assert window.session.film.path == hit.case.image
    assert "No report found" not in text
    assert DATASET_LABELS in text and "Edema: present" in text and "Support Devices: present" in text
    assert "no report" in text.lower()  # and says there is no report text
    assert window.report_pane.report.findings_from == "dataset"


def test_chexpert_plus_report_comes_with_the_tables_labels(qtbot, with_library, tmp_path: Path) -> None:
    window = with_library("chexpert", chexpert_tree(tmp_path / "data"))
    library = window.session.search.service.library(window.session.search.library.path)
    case = library.case("chexpert:patient00001/study1/view1_frontal")
    text = _report_after(qtbot, window, lambda: window.session.film.open_case(case, window.session.search.library.path))
    assert "The heart is enlarged." in text and "Dyspnoea." in text
    assert DATASET_LABELS in text and "Cardiomegaly: present" in text and "Pleural Effusion: uncertain" in text


def test_films_opened_from_the_dataset_folder_are_found_in_the_open_library(qtbot, with_library,
                                                                           tmp_path: Path) -> None:
    root = nih_tree(tmp_path / "nih")
    window = with_library("nih", root)
    folder = root / "images_001" / "images"
    text = _report_after(qtbot, window, lambda: window.session.open_path(str(folder)))
    assert Path(window.session.film.path).name == "00000001_000.png"
    assert DATASET_LABELS in text and "Cardiomegaly: present" in text and "Pleural Effusion: present" in text
    # The next film of the folder (the same "study" to the viewer) has labels of its own.
    text = _report_after(qtbot, window, lambda: window.session.film.step(1))
    assert Path(window.session.film.path).name == "00000002_000.png"
    assert "No Finding: present" in text and "Cardiomegaly: present" not in text


def test_a_mimic_film_from_disk_shows_its_report_and_labels(qtbot, with_library, tmp_path: Path) -> None:
    root = mimic_tree(tmp_path / "mimic")
    window = with_library("mimic", root)
    film = mimic_image(root, *MIMIC_FILMS[0])
    text = _report_after(qtbot, window, lambda: window.session.open_path(str(film.parent)))
    assert "No acute cardiopulmonary process." in text
    assert DATASET_LABELS in text and "No Finding: present" in text


def test_a_film_outside_the_library_still_says_no_report(qtbot, with_library, tmp_path: Path) -> None:
    window = with_library("nih", nih_tree(tmp_path / "nih"))
    other = chexpert_tree(tmp_path / "other") / CHEXPERT_FOLDER / "valid" / "patient64541" / "study1"
    window.session.open_path(str(other))
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle(), timeout=30000)
    assert "No report found" in window.report_pane.plain_text()


def test_the_labels_do_not_wait_behind_a_long_job_of_the_search_worker(qtbot, with_library, tmp_path: Path) -> None:
    """A build of another library can keep the search worker busy for hours: a film opened
    meanwhile still gets its labels at once."""
    import threading

    root = nih_tree(tmp_path / "nih")
    window = with_library("nih", root)
    gate = threading.Event()
    window.session.workers.search.submit(lambda context: gate.wait(60), channel="long-build")
    try:
        window.session.open_path(str(root / "images_001" / "images"))
        qtbot.waitUntil(lambda: DATASET_LABELS in window.report_pane.plain_text(), timeout=30000)
        assert "Cardiomegaly: present" in window.report_pane.plain_text()
        assert window.session.workers.search.busy()  # still at its long job
    finally:
        gate.set()
    qtbot.waitUntil(window.is_idle, timeout=30000)
