"""The teaching files in the window (issue 18): adding the film on screen, reordering, annotations
in film coordinates, the teaching session's reveal, the quiz, undo, exports in the worker."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from cxrviewer.teaching.model import Annotation, Film, TeachingFields

SECRETS = ("Pneumothorax teaching case", "Tension physiology", "Look for the visceral pleural line",
           "chest-emergencies", "Doe", "MRN123456")


def _teaching(window):
    from cxrviewer.gui.teaching import controller_for

    return controller_for(window)


def _add_film_on_screen(qtbot, window):
    window.teaching_add.trigger()
    teaching = _teaching(window)
    qtbot.waitUntil(lambda: teaching.case_id != "" and window.is_idle(), timeout=20000)
    return teaching


def test_the_film_on_screen_is_added_with_its_view_and_listed_in_the_pane(qtbot, open_study, teaching_study):
    window = open_study(teaching_study)
    window.viewer.rotate(90)
    teaching = _add_film_on_screen(qtbot, window)
    assert teaching.dock.isVisible()
    store = teaching.store
    [collection] = store.collections()
    [case] = store.cases(collection.collection_id)
    assert case.film.source == "file" and case.film.original_name == Path(window.session.film.path).name
    assert (store.films_dir / case.film.image).is_file()  # copied: survives the study folder
    assert case.presentation.rotation == 90  # the view on screen is the key image
    assert "effusion" in case.report.lower()
    assert teaching.pane.model.rowCount() == 1 and teaching.pane.current_case().case_id == case.case_id
    assert "pa" in teaching.pane.model.data(teaching.pane.model.index(0)).lower() or case.known_findings


def test_a_case_dropped_elsewhere_in_the_list_is_saved_in_its_new_place(qtbot, main_window, tmp_path):
    from cxrviewer.teaching.store import TeachingStore

    teaching = _teaching(main_window)
    store = teaching.store
    cid = store.create_collection("Order").collection_id
    ids = [store.add_case(cid, Film("file", f"x{n}/film.png"), teaching=TeachingFields(title=f"Case {n}")).case_id
           for n in range(3)]
    pane = teaching.pane
    pane.show_collection(cid)
    model = pane.model
    assert pane.case_ids() == ids
    data = model.mimeData([model.index(2)])  # what a drag of the third row carries
    assert model.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, model.index(0).parent()) is False
    assert pane.case_ids() == [ids[2], ids[0], ids[1]]
    data = model.mimeData([model.index(0)])
    model.dropMimeData(data, Qt.DropAction.MoveAction, 3, 0, model.index(0).parent())  # to the end
    assert pane.case_ids() == [ids[0], ids[1], ids[2]]
    model.dropMimeData(model.mimeData([model.index(0)]), Qt.DropAction.MoveAction, 2, 0, model.index(0).parent())
    with TeachingStore(store.folder) as again:  # on disk, as another process reads it
        assert [c.case_id for c in again.cases(cid)] == [ids[1], ids[0], ids[2]]


def test_an_annotation_drawn_is_stored_in_film_pixels_and_stays_on_them_when_turned(qtbot, open_study, teaching_study):
    window = open_study(teaching_study)
    teaching = _add_film_on_screen(qtbot, window)
    viewer = window.viewer
    rows, _ = viewer.source_shape()
    viewer.rotate(90)  # display (x, y) = (rows - film y, film x)
    window.tool_arrow.trigger()
    assert viewer.tool == "arrow"
    tail, head = QPointF(rows - 40.5, 30.5), QPointF(rows - 120.5, 200.5)
    viewer.view.toolDragged.emit(tail, QPointF(rows - 80.0, 100.0), False)
    viewer.view.toolDragged.emit(tail, head, True)
    [mark] = teaching.store.case(teaching.case_id).annotations
    assert mark.kind == "arrow"
    assert [v for p in mark.points for v in p] == pytest.approx([30.5, 40.5, 200.5, 120.5])
    film = viewer.image.display_pixels[0]
    for turn in (lambda: viewer.flip(True), lambda: viewer.rotate(90), lambda: viewer.flip(False)):
        turn()
        shown = teaching.layer.shown_points(mark.annotation_id)
        assert len(shown) == 2 and teaching.layer.items[mark.annotation_id]
        for (x, y), (fx, fy) in zip(shown, mark.points, strict=True):
            # the displayed pixel under the mark is the film pixel it was drawn on
            assert viewer._displayed[int(y), int(x)] == film[int(fy), int(fx)]
    path = teaching.layer.items[mark.annotation_id][0].path()  # the arrow's shaft as drawn
    assert (path.elementAt(0).x, path.elementAt(0).y) == pytest.approx(shown[0])
    assert (path.elementAt(1).x, path.elementAt(1).y) == pytest.approx(shown[1])

    teaching.tools.ask_text = lambda title: "Effusion"
    window.tool_text.trigger()
    teaching.tools.place_text(QPointF(10.5, 10.5))
    marks = teaching.store.case(teaching.case_id).annotations
    assert [m.kind for m in marks] == ["arrow", "text"] and marks[1].text == "Effusion"
    teaching.pane.tabs.setCurrentIndex(1)
    teaching.pane.annotation_list.setCurrentRow(1)
    teaching.pane.delete_selected_annotation()
    assert [m.kind for m in teaching.store.case(teaching.case_id).annotations] == ["arrow"]
    assert list(teaching.layer.items) == [mark.annotation_id]


def _session_collection(qtbot, window, teaching_study):
    """Two cases from the study folder; the first with every teaching field and an annotation."""
    window.session.open_path(str(teaching_study))
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle(), timeout=30000)
    teaching = _add_film_on_screen(qtbot, window)
    first = teaching.case_id
    store = teaching.store
    store.update_teaching(first, title=SECRETS[0], diagnosis=SECRETS[1], teaching_points=SECRETS[2],
                          tags=(SECRETS[3],), history="Sudden dyspnoea.")
    store.add_annotation(first, Annotation("ellipse", ((20.0, 20.0), (90.0, 140.0))))
    window.session.film.step(1)
    qtbot.waitUntil(lambda: teaching.case_id == "" and window.is_idle(), timeout=20000)
    teaching = _add_film_on_screen(qtbot, window)
    return teaching, first


def _shown_text(session_window) -> str:
    panel = session_window.panel
    corners = "\n".join(session_window.viewer.overlay_texts().values()) if session_window.viewer.show_overlays else ""
    return "\n".join((panel.fields.text(), panel.report.toPlainText(), panel.verdict.text(), panel.position.text(),
                      session_window.windowTitle(), corners))


def test_an_unknown_session_hides_every_answer_until_space_and_the_arrows_move(qtbot, main_window, teaching_study):
    teaching, first = _session_collection(qtbot, main_window, teaching_study)
    teaching.start_session("unknown")
    window = teaching.session_window
    qtbot.waitUntil(lambda: window.film is not None and main_window.is_idle(), timeout=20000)
    assert window.state.current == first and window.isFullScreen()
    shown = _shown_text(window)
    assert "Sudden dyspnoea." in shown  # the history is the question
    for secret in SECRETS:
        assert secret not in shown
    assert "effusion" not in shown.lower()  # report and findings
    assert window.viewer.anonymise and not window.layer.items
    assert window.panel.answer.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.state.revealed
    shown = _shown_text(window)
    for secret in SECRETS[:4]:
        assert secret in shown
    assert "effusion" in window.panel.report.toPlainText().lower()
    assert len(window.layer.items) == 1  # the annotation appears on reveal

    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.state.index == 1 and not window.state.revealed
    qtbot.waitUntil(lambda: window.film is not None and window.film.case.case_id == window.state.current,
                    timeout=20000)
    assert "effusion" not in _shown_text(window).lower()
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.state.index == 0 and not window.state.revealed
    window.close()


def test_a_quiz_answer_is_scored_saved_and_revealed_with_the_differential(qtbot, main_window, demo_library, tmp_path):
    from cxrviewer.library.library import Library

    with Library.open(demo_library) as library:
        row = next(r for r in library.store.cases(list(range(library.count)))
                   if r.findings.get("Pleural Effusion") == "positive"
                   and r.details.get("Pleural Effusion") is not None
                   and r.details["Pleural Effusion"].laterality in ("left", "right"))
    teaching = _teaching(main_window)
    cid = teaching.pane.ensure_collection()
    done: list = []
    teaching.teaching.add_library_cases(cid, str(demo_library), [row.case_id], done.extend)
    qtbot.waitUntil(lambda: bool(done) and main_window.is_idle(), timeout=20000)
    teaching.pane.show_collection(cid)
    teaching.start_session("unknown")
    window = teaching.session_window
    qtbot.waitUntil(lambda: window.film is not None, timeout=20000)
    # Everything identifying is hidden on an unknown case, but a synthetic film still says so.
    qtbot.waitUntil(lambda: window.viewer.overlays.labels["tr"].isVisible(), timeout=5000)
    corner = window.viewer.overlays.labels["tr"].text()
    assert "SYNTHETIC" in corner and "not a real patient" in corner
    assert not any(window.viewer.overlays.labels[k].isVisible() for k in ("tl", "bl", "br"))
    wrong_side = "left" if row.details["Pleural Effusion"].laterality == "right" else "right"
    window.panel.answer.setText(f"{wrong_side} pleural effusion")
    qtbot.keyClick(window.panel.answer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.state.revealed and main_window.is_idle(), timeout=30000)
    verdict = window.panel.verdict.text()
    assert "Pleural Effusion" in verdict and "found" in verdict and "side wrong" in verdict
    assert "Score" in verdict
    [attempt] = teaching.store.attempts(window.state.session_id)
    assert attempt.answer == f"{wrong_side} pleural effusion" and 0 < attempt.score < 1
    assert "background-color" in window.panel.report.toHtml()  # the evidence highlighted
    from cxrviewer.teaching.differential import finding_set

    qtbot.waitUntil(lambda: bool(window.panel.tiles), timeout=20000)
    strip, case = window.panel.differential, window.case
    assert strip.isVisible() and strip.count() == len(window.panel.tiles)
    own = finding_set(case.known_findings)
    assert all(set(t.film.findings) != own and t.film.case_id != row.case_id for t in window.panel.tiles)
    assert not strip.item(0).icon().isNull()  # its thumbnail
    out = tmp_path / "results.csv"
    teaching.export_results_to(str(out))
    qtbot.waitUntil(lambda: out.is_file() and main_window.is_idle(), timeout=10000)
    assert f"{wrong_side} pleural effusion" in out.read_text()
    window.close()


def test_a_deleted_case_comes_back_with_undo(qtbot, main_window):
    teaching = _teaching(main_window)
    store = teaching.store
    cid = store.create_collection("Undo me").collection_id
    case = store.add_case(cid, Film("file", "x/film.png"), teaching=TeachingFields(title="Keep me"))
    teaching.pane.show_collection(cid)
    teaching.pane.select_case(case.case_id)
    teaching.pane.delete_selected_case()
    assert teaching.pane.case_ids() == []
    assert main_window.undo_action.isEnabled() and "Keep me" in main_window.undo_action.text()
    main_window.undo_action.trigger()
    assert teaching.pane.case_ids() == [case.case_id]
    assert not main_window.undo_action.isEnabled()


def test_exports_and_imports_run_in_the_teaching_worker(qtbot, open_study, teaching_study, tmp_path, monkeypatch):
    from cxrviewer.teaching import exports

    window = open_study(teaching_study)
    teaching = _add_film_on_screen(qtbot, window)
    threads: list[str] = []
    real = exports.export_collection
    started = threading.Event()

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        started.wait(10)  # held until the GUI thread has gone on
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "export_collection", recording)
    out = tmp_path / "handout.zip"
    teaching.export_to("zip", str(out))
    assert not out.exists()  # export_to returned while the export waits in its worker
    started.set()
    qtbot.waitUntil(lambda: out.is_file() and window.is_idle(), timeout=30000)
    assert threads == ["cxrviewer-teaching"]
    assert "anonymised" in window.statusBar().currentMessage()
    teaching.import_from(str(out))
    qtbot.waitUntil(lambda: len(teaching.store.collections()) == 2 and window.is_idle(), timeout=30000)
    assert teaching.pane.model.rowCount() == 1


def test_a_gallery_tile_and_the_whole_result_set_are_added_from_the_tiles_menu(qtbot, main_window, demo_library):
    from PySide6.QtWidgets import QMenu

    window = main_window
    window.session.search.start(str(demo_library))
    qtbot.waitUntil(lambda: window.session.search.outcome is not None and window.is_idle(), timeout=30000)
    gallery = window.results.gallery
    qtbot.waitUntil(lambda: gallery.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu, timeout=10000)
    hits = window.session.search.outcome.hits
    gallery.customContextMenuRequested.emit(gallery.visualRect(window.results.model.index(1, 0)).center())
    menu = next(m for m in gallery.findChildren(QMenu) if m.isVisible())
    add_tile, add_all = menu.actions()
    assert "this film" in add_tile.text() and "all results" in add_all.text()
    add_tile.trigger()
    menu.close()
    teaching = _teaching(window)
    qtbot.waitUntil(lambda: teaching.pane.model.rowCount() == 1 and window.is_idle(), timeout=20000)
    [case] = teaching.pane.model.cases
    assert case.film.source == "library" and case.film.library_case_id == hits[1].case.case_id
    assert case.report and case.known_findings  # copied from the library with the case
    teaching.add_all_results()
    qtbot.waitUntil(lambda: teaching.pane.model.rowCount() == 1 + len(hits) and window.is_idle(), timeout=60000)
    assert [c.film.library_case_id for c in teaching.pane.model.cases[1:]] == [h.case.case_id for h in hits]


def test_no_teaching_code_loads_before_the_window_first_shows(tmp_path):
    script = """
import sys
from cxrviewer.gui.launch import create_app
from cxrviewer.gui.main_window import MainWindow
app = create_app()
window = MainWindow()
window.persist_settings = False
loaded = sorted(m for m in sys.modules if m.startswith(("cxrviewer.gui.teaching", "cxrviewer.teaching",
                                                          "cxrviewer.services.session.teaching")))
window.close()
print("LOADED=" + ",".join(loaded))
"""
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CXRVIEWER_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED=\n" in result.stdout, result.stdout
