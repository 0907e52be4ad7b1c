"""The window half of ``cxrviewer --self-test`` (the steps and their runner are in
:mod:`cxrviewer.selftest`): drive the real main window offscreen and wait like ``--screenshot``.

Each step takes the self-test's context (``ctx.need(...)``, ``ctx.values``) and a :class:`Check`
(what to search for, with which model, how long to wait); a check that does not hold raises
:class:`WindowStepFailed`, which the self-test reports as a failed step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop

from cxrviewer import settings as settings_store
from cxrviewer.gui.launch import create_app, saliency_ready, screenshot_ready, search_ready
from cxrviewer.gui.main_window import MainWindow


class WindowStepFailed(Exception):
    """A window check did not hold; the message says what was expected and what was found."""


@dataclass(frozen=True)
class Check:
    query: str
    model: str
    timeout: float


def step_window(ctx: Any, check: Check) -> str:
    app = create_app()
    window = MainWindow(settings_store.Settings())
    window.persist_settings = False
    window.resize(1400, 900)
    window.show()
    ctx.values["app"], ctx.values["window"] = app, window
    return f"Qt platform {app.platformName()}"


def step_window_open(ctx: Any, check: Check) -> str:
    window, path = ctx.need("window"), str(ctx.need("dicom"))
    window.session.open_path(path)
    _wait(ctx, check, lambda: window.session.film.path is not None and screenshot_ready(window, requested_path=True),
          "the film to be shown")
    if window.viewer.image is None:
        raise WindowStepFailed(f"the viewer shows no image for {path}")
    rows, cols = window.viewer.image.pixels.shape[1:3]
    return f"{Path(path).name}, {cols}x{rows} px"


def step_window_label_search(ctx: Any, check: Check) -> str:
    window = ctx.need("window")
    window.search.start(str(ctx.need("library")), check.query)
    outcome = _wait_outcome(ctx, check, "labels")
    return f"{len(outcome.hits)} tiles, {outcome.seconds * 1000:.0f} ms in the worker"


def step_window_embedding_search(ctx: Any, check: Check) -> str:
    window = ctx.need("window")
    ctx.need("library")
    window.session.search.set_route(check.model)
    outcome = _wait_outcome(ctx, check, check.model)
    return f"{len(outcome.hits)} tiles, {outcome.seconds * 1000:.0f} ms in the worker, {outcome.device}"


def step_window_saliency(ctx: Any, check: Check) -> str:
    window = ctx.need("window")
    outcome = ctx.need("embedding_outcome")
    window.auto_explain_action.setChecked(True)
    hit = outcome.hits[0]
    window.session.search.activate(hit)  # as a click on the first tile
    _wait(ctx, check, lambda: window.session.film.path == hit.case.image and saliency_ready(window, True),
          "the saliency map")
    overlay = window.viewer.saliency
    if not overlay.shown:
        raise WindowStepFailed(overlay.bar.caption.text() or "no map was drawn")
    return overlay.bar.caption.text()


def _wait_outcome(ctx: Any, check: Check, route: str) -> Any:
    search = ctx.need("window").session.search

    def done() -> bool:
        outcome = search.outcome
        return (outcome is not None and outcome.model == route and outcome.request.text == check.query
                and search_ready(ctx.need("window"), True))

    _wait(ctx, check, done, f"the {route} search")
    outcome = search.outcome
    if not outcome.hits:
        raise WindowStepFailed(f"the {route} search found nothing")
    ctx.values["embedding_outcome" if route != "labels" else "label_outcome"] = outcome
    return outcome


def _wait(ctx: Any, check: Check, condition: Callable[[], bool], what: str) -> None:
    """Turn the event loop until ``condition`` holds (like ``--screenshot``); an error the window
    shows in its status bar ends the wait early."""
    app, window = ctx.need("app"), ctx.need("window")
    deadline = time.monotonic() + check.timeout
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if condition():
            return
        message = window.statusBar().currentMessage()
        if message.startswith("Unexpected error"):
            raise WindowStepFailed(message)
        time.sleep(0.005)
    raise WindowStepFailed(f"gave up waiting {check.timeout:.0f} s for {what} "
                           f"(status bar: {window.statusBar().currentMessage() or '-'})")


def close_window(ctx: Any) -> None:
    window = ctx.values.pop("window", None)
    app = ctx.values.pop("app", None)
    if window is not None:
        window.close()
    if app is not None:
        app.processEvents()
