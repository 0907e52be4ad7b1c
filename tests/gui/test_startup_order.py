"""Start-up work (opening the case library, a path from the command line) waits for the first paint."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QEvent, QObject


class PaintLog(QObject):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and "paint" not in self.log:
            self.log.append("paint")
        return False


def test_start_up_work_runs_after_the_first_paint_and_not_on_a_closing_window(qtbot):
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.main_window import MainWindow
    from cxrviewer.settings import Settings

    create_app()
    window = MainWindow(Settings())
    window.persist_settings = False
    qtbot.addWidget(window)
    log: list[str] = []
    probe = PaintLog(log)
    window.installEventFilter(probe)
    window.after_first_paint(lambda: log.append("work"))
    assert log == []
    window.show()
    qtbot.waitUntil(lambda: "work" in log, timeout=5000)
    assert log == ["paint", "work"]

    window.after_first_paint(lambda: log.append("later"))  # once painted: on the next turn
    assert log[-1] == "work"
    qtbot.waitUntil(lambda: log[-1] == "later", timeout=5000)

    window.after_first_paint(lambda: log.append("too late"))
    window.close()
    qtbot.wait(50)
    assert "too late" not in log


def test_the_entry_point_skips_multiprocessing_unless_frozen():
    code = "import sys, cxrviewer.app; print('multiprocessing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def _film_open(qtbot, window, folder) -> None:
    window.session.open_path(str(folder))
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.is_idle(), timeout=30000)


def test_findings_are_asked_for_a_film_that_arrived_before_the_library(qtbot, main_window, teaching_study,
                                                                         demo_library):
    """A film from the command line (or a quick user) is shown before the case library and its
    finding model are ready: the panel must not stay on its "open a film" note."""
    window = main_window
    _film_open(qtbot, window, teaching_study)
    waiting = window.findings_panel.note.text()
    assert window.session.search.library is None and window.explainer.last_labels == ()
    window.session.search.start(str(demo_library))
    qtbot.waitUntil(lambda: window.session.search.library is not None and window.is_idle(), timeout=60000)
    # The teaching study is a real film: the answer is the refusal (no model validated on real films)
    assert window.findings_panel.refused, "the finding model was never asked about the film shown"
    assert window.findings_panel.note.text() != waiting
    assert window.session.film.path.startswith(str(teaching_study))  # and the film stayed


def test_findings_are_asked_for_a_film_opened_after_the_library(qtbot, main_window, teaching_study, demo_library):
    window = main_window
    window.session.search.start(str(demo_library))
    qtbot.waitUntil(lambda: window.session.search.library is not None and window.is_idle(), timeout=60000)
    _film_open(qtbot, window, teaching_study)
    assert window.findings_panel.refused and not window.explainer.last_labels  # a real film: no demo numbers
    assert window.session.film.path.startswith(str(teaching_study))


def test_the_first_start_example_never_replaces_a_film_the_user_opened(qtbot, main_window, teaching_study,
                                                                        demo_library):
    """On a first start the demo library runs an example search and shows its best match; a film
    the user opens while that search runs must stay in the viewer."""
    from cxrviewer.services.session.search import EXAMPLE_QUERY

    window = main_window
    search = window.session.search
    opened: list[str] = []

    def then_the_user_opens_a_film(mode: str) -> None:  # right after the example query is submitted
        if not opened:
            assert window.results.query.text() == EXAMPLE_QUERY and search.library is not None
            opened.append(mode)
            window.session.open_path(str(teaching_study))

    search.events.searching.connect(then_the_user_opens_a_film)
    window.search.start(str(demo_library))
    qtbot.waitUntil(lambda: search.outcome is not None and window.viewer.image is not None
                    and window.is_idle(), timeout=60000)
    assert opened == ["query"]
    assert search.outcome.request.text == EXAMPLE_QUERY and search.outcome.hits  # the gallery shows it
    assert window.session.film.path.startswith(str(teaching_study))
    assert window.session.film.library_case is None
