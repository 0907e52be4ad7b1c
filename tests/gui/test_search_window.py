"""The search flow in the window: query -> gallery -> viewer, similar films, compare, a library
build with progress, and responsiveness while queries and builds run."""

from __future__ import annotations

import time

import pytest
from heartbeat import assert_no_stall
from PySide6.QtCore import Qt

from cxrviewer.library.library import Library


@pytest.fixture
def searching_window(qtbot, main_window, demo_library):
    """A window on the demo library; as on a first start, it runs an example query and shows
    the best match in the viewer."""
    main_window.session.search.start(str(demo_library))
    qtbot.waitUntil(lambda: main_window.session.search.outcome is not None and main_window.viewer.image is not None
                    and main_window.is_idle(), timeout=30000)
    return main_window


def _query(qtbot, window, text: str):
    window.results.query.setText(text)
    window.results.request_search()  # as Enter in the search box
    qtbot.waitUntil(lambda: window.session.search.outcome is not None
                    and window.session.search.outcome.request.text == text and window.is_idle(), timeout=30000)
    return window.session.search.outcome


def test_typed_impression_fills_the_gallery_with_scored_tiles(qtbot, searching_window):
    window = searching_window
    assert window.results.banner.isVisible() and "Synthetic" in window.results.banner.text()
    outcome = _query(qtbot, window, "Moderate right pleural effusion.")
    model = window.results.model
    assert model.rowCount() == len(outcome.hits) > 0
    assert outcome.hits[0].case.findings.get("Pleural Effusion") == "positive"
    qtbot.waitUntil(lambda: model.thumbnails_complete(window.results.visible_rows()), timeout=10000)
    assert window.results.visible_rows()
    shot = window.results.gallery.grab()
    assert not shot.isNull()
    assert "results" in window.results.status.text()


def test_scrolling_to_the_end_appends_more_results_in_place(qtbot, searching_window):
    window = searching_window
    window.session.search.page = 10  # the demo library has 48 cases; the app's page is 100
    window.resize(1400, 900)
    first = _query(qtbot, window, "Cardiomegaly.")
    model, gallery = window.results.model, window.results.gallery
    assert len(first.hits) == model.rowCount() == 10
    shown_first = [h.case.case_id for h in model.hits]
    bar = gallery.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: model.rowCount() > 10 and window.is_idle(), timeout=30000)
    ids = [h.case.case_id for h in model.hits]
    assert ids[:10] == shown_first, "the rows already shown stay where they were"
    assert window.session.search.outcome.request.k == 100
    assert len(ids) == len(set(ids)) == len(window.session.search.outcome.hits) > 10
    assert bar.value() > 0, "appending does not jump back to the top"
    assert f"{len(ids)} results" in window.results.status.text()
    # the run returned fewer than it asked for: the end of the library, nothing more to ask
    asked = window.session.search.outcome.request.k
    bar.setValue(bar.maximum())
    qtbot.wait(200)
    assert window.session.search.outcome.request.k == asked and model.rowCount() == len(ids)


def test_typing_pause_runs_the_query_and_only_the_last_result_is_shown(qtbot, searching_window):
    window = searching_window
    pane = window.results
    pane.query.clear()
    qtbot.keyClicks(pane.query, "cardiomegaly")  # no Enter: the typing pause runs it
    qtbot.waitUntil(lambda: window.session.search.outcome.request.text == "cardiomegaly" and window.is_idle(),
                    timeout=10000)
    shown = []
    window.search.outcomeShown.connect(lambda o: shown.append(o.request.text))
    last_texts: list[str] = []

    def type_fast(attempt: int) -> None:
        texts = [f"effusion {n} {attempt}" for n in range(99)] + [("a " * attempt) + "small left pneumothorax"]
        shown.clear()
        for text in texts:
            pane.query.setText(text)
            pane.request_search()
            qtbot.wait(1)
        qtbot.waitUntil(lambda: window.session.search.outcome.request.text == texts[-1]
                        and window.is_idle(), timeout=30000)
        last_texts[:] = texts

    # The goal is 50 ms; these 2-core CI machines add their own noise (measured idle just before).
    assert_no_stall(qtbot, type_fast, bound_ms=50, min_slack_ms=50)
    assert shown[-1] == last_texts[-1]
    assert len(shown) < len(last_texts), "superseded queries must not all reach the gallery"
    assert all(h.case.findings.get("Pneumothorax") for h in window.session.search.outcome.hits[:1])


def test_clicking_a_tile_opens_the_case_with_its_library_report(qtbot, searching_window, demo_library):
    window = searching_window
    outcome = _query(qtbot, window, "Cardiomegaly.")
    gallery = window.results.gallery
    rect = gallery.visualRect(window.results.model.index(0))
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    case = outcome.hits[0].case
    qtbot.waitUntil(lambda: window.session.film.path == case.image and window.viewer.image is not None
                    and window.is_idle(), timeout=30000)
    assert window.session.film.library_case == case
    text = window.report_pane.plain_text()
    assert case.report.impression.split(".")[0] in text
    assert "Findings stated" in text


def test_similar_films_from_a_library_case_excludes_its_study(qtbot, searching_window):
    window = searching_window
    outcome = _query(qtbot, window, "Cardiomegaly.")
    case = outcome.hits[0].case
    window.session.film.open_case(case, window.session.search.library.path)
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle(), timeout=30000)
    window.session.search.similar("films")
    qtbot.waitUntil(lambda: window.session.search.outcome.request.case_id == case.case_id and window.is_idle(),
                    timeout=30000)
    hits = window.session.search.outcome.hits
    assert hits and all(h.case.study_id != case.study_id for h in hits)
    window.session.search.similar("reports")
    qtbot.waitUntil(lambda: window.results.delegate.reports_mode and window.is_idle(), timeout=30000)


def test_similar_films_for_an_outside_film_uses_its_report(qtbot, searching_window, teaching_study):
    window = searching_window
    window.session.open_path(str(teaching_study))
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.report_pane.report is not None
                    and window.is_idle(), timeout=30000)
    window.session.search.similar("films")
    qtbot.waitUntil(lambda: window.session.search.outcome is not None and window.is_idle(), timeout=30000)
    outcome = window.session.search.outcome
    assert outcome.result.query_findings.get("Cardiomegaly") == "positive"
    assert "report" in outcome.query_label


def test_double_click_compares_side_by_side_with_window_level_in_step(qtbot, searching_window):
    window = searching_window
    outcome = _query(qtbot, window, "Pleural effusion.")
    window.session.film.open_case(outcome.hits[1].case, window.session.search.library.path)
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle(), timeout=30000)
    gallery = window.results.gallery
    rect = gallery.visualRect(window.results.model.index(0))
    viewed = window.session.film.path
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.search.compare.dialog is not None
                    and window.search.compare.dialog.right.image is not None and window.is_idle(), timeout=30000)
    dialog = window.search.compare.dialog
    assert dialog.isVisible()
    qtbot.wait(600)  # past the double-click interval: the click did not replace the viewed film
    assert window.session.film.path == viewed
    from cxrviewer.imaging.records import Window

    left = dialog.left
    low, high = left.image.sample_range
    left.set_window(Window(low + 0.3 * (high - low), 0.2 * (high - low)))
    r_low, r_high = dialog.right.image.sample_range
    assert dialog.right.window.center == pytest.approx(r_low + 0.3 * (r_high - r_low), rel=1e-3)
    dialog.close()


def test_building_a_library_shows_progress_and_keeps_the_window_responsive(qtbot, main_window, demo_dataset):
    window = main_window
    progress = []
    window.search.progress.valueChanged.connect(progress.append)
    built: list[str] = []

    def build(attempt: int) -> None:
        built.append(f"gui-built-{attempt}")
        window.session.search.build("demo", str(demo_dataset), built[-1])
        qtbot.waitUntil(lambda: window.session.search.library is not None
                        and window.session.search.library.name == built[-1] and window.is_idle(), timeout=120000)

    assert_no_stall(qtbot, build, bound_ms=50, min_slack_ms=50)
    assert window.session.search.library.name == built[-1] and window.session.search.library.count == 48
    assert progress, "the build reported progress"
    assert not window.search.progress.isVisible()
    with Library.open(window.session.search.library.path) as library:
        assert library.count == 48


def test_cancelling_a_build_says_the_build_was_cancelled_and_that_building_again_resumes(
        qtbot, main_window, demo_dataset):
    from cxrviewer.library import catalog
    from cxrviewer.library.build import BuildOptions, build_library

    window = main_window
    window.session.search.build("demo", str(demo_dataset), "cancelled-build")
    qtbot.waitUntil(lambda: window.search.progress.isVisible(), timeout=60000)  # the build has started
    qtbot.mouseClick(window.search.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.is_idle, timeout=60000)
    message = window.results.status.text()
    assert "Opening the library" not in message
    assert "cancelled-build" in message and "build" in message.lower() and "cancelled" in message
    assert "again" in message and "resume" in message
    assert window.session.search.library is None  # no library was open before, and none is now
    result = build_library(BuildOptions("demo", demo_dataset, catalog.default_out("cancelled-build"), workers=1))
    assert result.resumed and result.total == 48  # what the message promises


def test_a_build_from_a_wrong_folder_says_the_build_failed(qtbot, main_window, tmp_path):
    (tmp_path / "empty").mkdir()
    main_window.session.search.build("nih", str(tmp_path / "empty"), "wrong-folder")
    qtbot.waitUntil(main_window.is_idle, timeout=60000)
    message = main_window.results.status.text()
    assert message.startswith("Building wrong-folder failed") and "Data_Entry_2017" in message


def test_missing_library_is_a_message_not_a_crash(qtbot, main_window, tmp_path):
    main_window.session.search.start(str(tmp_path / "nowhere"))
    qtbot.waitUntil(lambda: main_window.is_idle() and "could not be opened" in main_window.results.status.text(),
                    timeout=30000)
    assert "no such library folder" in main_window.results.status.text()


def test_no_worker_thread_survives_the_window(qtbot, searching_window):
    import threading

    _query(qtbot, searching_window, "Edema.")
    searching_window.close()
    deadline = time.monotonic() + 5
    def workers() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("cxrviewer-") and t.is_alive()]

    while time.monotonic() < deadline and workers():
        time.sleep(0.05)
    assert not workers()
