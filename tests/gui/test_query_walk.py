"""A typed query walks down the layers once and its results come back up once:

    results pane -> search controller -> session model -> [search worker] -> search service
    -> library -> index (the findings route's arrays, or FAISS) -> ... -> session model
    -> search controller -> results pane

The call stacks are taken where the query is handed to the search worker (the GUI thread's half
of the way down), where the index is searched (the worker's half) and where the pane shows the
results (the way back), and read as layers: every frame's module gives its layer, consecutive
frames of one layer are one step, and the plumbing (the executor, job callbacks, events, the
queued call onto the GUI thread, Qt, the standard library) is left out. A window that routed the
results, or a controller that read the query back from the pane, would add a step.
"""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import cxrviewer
from cxrviewer.gui.results_pane import ResultsPane
from cxrviewer.library.index import VectorIndex
from cxrviewer.library.label_index import LabelIndex
from cxrviewer.services.jobs import Jobs

PACKAGE = Path(cxrviewer.__file__).resolve().parent
LAYERS = (  # module prefix -> layer; the first that matches
    ("cxrviewer.gui.results_pane", "pane"),
    ("cxrviewer.gui.search_controller", "controller"),
    ("cxrviewer.services.session", "session"),
    ("cxrviewer.services.search", "service"),
    ("cxrviewer.library.label_index", "index"),
    ("cxrviewer.library.index", "index"),
    ("cxrviewer.library", "library"),
)
PLUMBING = ("cxrviewer.services.jobs", "cxrviewer.services.executor", "cxrviewer.services.events",
            "cxrviewer.gui.bridge")


def layer_of(filename: str) -> str | None:
    """The layer of a frame's file; None for plumbing and for code outside the package."""
    path = Path(filename).resolve()
    if PACKAGE not in path.parents:
        return None
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if module.startswith(PLUMBING):
        return None
    return next((layer for prefix, layer in LAYERS if module.startswith(prefix)), module)


def walk(stack: traceback.StackSummary) -> list[str]:
    """The layers a call stack passed through, outermost first, one entry per step."""
    steps: list[str] = []
    for frame in stack:
        layer = layer_of(frame.filename)
        if layer is not None and (not steps or steps[-1] != layer):
            steps.append(layer)
    return steps


@pytest.fixture(params=["findings route", "embedding route"])
def searching(request, qtbot, main_window, demo_library, clip_library):
    window = main_window
    library = demo_library if request.param == "findings route" else clip_library
    window.search.start(str(library))
    qtbot.waitUntil(lambda: window.session.search.library is not None and window.is_idle(), timeout=60000)
    route = window.session.search.library.routes[0]
    assert (route == "labels") == (request.param == "findings route")
    window.session.search.set_route(route)
    qtbot.waitUntil(lambda: window.is_idle() and bool(window.session.search.device), timeout=60000)
    return window


def test_a_typed_query_passes_each_layer_once_down_and_once_back(qtbot, searching, monkeypatch):
    window = searching
    pane = window.results
    seen: dict[str, list] = {"submitted": [], "index": [], "shown": [], "filters_read_by": []}

    real_submit = Jobs.submit

    def submit(self, fn, *args, channel, **kwargs):
        if channel == "search":
            seen["submitted"].append(traceback.extract_stack()[:-1])
        return real_submit(self, fn, *args, channel=channel, **kwargs)

    def recording(real, key):
        def wrapper(*args, **kwargs):
            seen[key].append((traceback.extract_stack()[:-1], threading.current_thread().name))
            return real(*args, **kwargs)
        return wrapper

    real_filters = ResultsPane.filter_values

    def filter_values(self):
        seen["filters_read_by"].append(layer_of(sys._getframe(1).f_code.co_filename))
        return real_filters(self)

    monkeypatch.setattr(Jobs, "submit", submit)
    monkeypatch.setattr(LabelIndex, "rank", recording(LabelIndex.rank, "index"))
    monkeypatch.setattr(VectorIndex, "search", recording(VectorIndex.search, "index"))
    monkeypatch.setattr(ResultsPane, "show_outcome", recording(ResultsPane.show_outcome, "shown"))
    monkeypatch.setattr(ResultsPane, "filter_values", filter_values)

    text = "Moderate right pleural effusion."
    pane.query.setText(text)
    qtbot.keyClick(pane.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(seen["shown"]) and window.is_idle(), timeout=60000)
    assert window.session.search.outcome.request.text == text and window.results.model.rowCount() > 0

    assert len(seen["submitted"]) == 1 and len(seen["index"]) == 1 and len(seen["shown"]) == 1
    (index_stack, worker), = seen["index"]
    (shown_stack, shown_on), = seen["shown"]
    assert worker == "cxrviewer-search" and shown_on == threading.main_thread().name
    # The stacks are taken at the door of the index and of the pane: the callers up to them.
    down = walk(seen["submitted"][0]) + walk(index_stack) + ["index"]
    assert down == ["pane", "controller", "session", "service", "library", "index"]
    assert [*walk(shown_stack), "pane"] == ["session", "controller", "pane"]
    assert seen["filters_read_by"] == ["pane"]  # the signal carried them; nobody read them back


def test_the_walk_reads_a_router_on_the_window_as_a_step():
    """The reading itself: a stack through the window's own module would not pass."""
    stack = traceback.StackSummary.from_list([
        (str(PACKAGE / "gui" / "bridge.py"), 1, "_run", ""),
        (str(PACKAGE / "services" / "jobs.py"), 1, "_deliver", ""),
        (str(PACKAGE / "gui" / "main_window.py"), 1, "on_job_event", ""),
        (str(PACKAGE / "gui" / "search_controller.py"), 1, "_results", ""),
        (str(PACKAGE / "gui" / "search_controller.py"), 2, "_show", ""),
        (str(PACKAGE / "gui" / "results_pane.py"), 1, "show_outcome", ""),
        ("/usr/lib/python3/threading.py", 1, "run", ""),
    ])
    assert walk(stack) == ["cxrviewer.gui.main_window", "controller", "pane"]
