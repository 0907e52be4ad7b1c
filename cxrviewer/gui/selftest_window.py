"""The window half of ``cxrviewer --self-test`` (the steps and their runner are in
:mod:`cxrviewer.selftest`): drive the real main window offscreen and wait like ``--screenshot``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop

from cxrviewer import settings as settings_store
from cxrviewer.gui.launch import create_app, saliency_ready, screenshot_ready, search_ready
from cxrviewer.gui.main_window import MainWindow
from cxrviewer.selftest import MODEL, QUERY, STEP_TIMEOUT, Context, StepFailed


def step_window(ctx: Context) -> str:
    app = create_app()
    window = MainWindow(settings_store.Settings())
    window.persist_settings = False
    window.resize(1400, 900)
    window.show()
    ctx.values["app"], ctx.values["window"] = app, window
    return f"Qt platform {app.platformName()}"


def step_window_open(ctx: Context) -> str:
    window, path = ctx.need("window"), str(ctx.need("dicom"))
    window.open_path(path)
    _wait(ctx, lambda: window.current_path is not None and screenshot_ready(window, requested_path=True),
          "the film to be shown")
    if window.viewer.image is None:
        raise StepFailed(f"the viewer shows no image for {path}")
    rows, cols = window.viewer.image.pixels.shape[1:3]
    return f"{Path(path).name}, {cols}x{rows} px"


def step_window_label_search(ctx: Context) -> str:
    window = ctx.need("window")
    window.search.start(str(ctx.need("library")), QUERY)
    outcome = _wait_outcome(ctx, "labels")
    return f"{len(outcome.hits)} tiles, {outcome.seconds * 1000:.0f} ms in the worker"


def step_window_embedding_search(ctx: Context) -> str:
    window = ctx.need("window")
    ctx.need("library")
    window.search.set_route(MODEL)
    outcome = _wait_outcome(ctx, MODEL)
    return f"{len(outcome.hits)} tiles, {outcome.seconds * 1000:.0f} ms in the worker, {outcome.device}"


def step_window_saliency(ctx: Context) -> str:
    window = ctx.need("window")
    outcome = ctx.need("embedding_outcome")
    window.auto_explain_action.setChecked(True)
    hit = outcome.hits[0]
    window.open_case(hit.case, window.search.library.path)  # as a click on the first tile
    _wait(ctx, lambda: window.current_path == hit.case.image and saliency_ready(window, True), "the saliency map")
    overlay = window.viewer.saliency
    if not overlay.shown:
        raise StepFailed(overlay.bar.caption.text() or "no map was drawn")
    return overlay.bar.caption.text()


def _wait_outcome(ctx: Context, route: str) -> Any:
    window = ctx.need("window")

    def done() -> bool:
        outcome = window.search.last_outcome
        return (outcome is not None and outcome.model == route and outcome.request.text == QUERY
                and search_ready(window, True))

    _wait(ctx, done, f"the {route} search")
    outcome = window.search.last_outcome
    if not outcome.hits:
        raise StepFailed(f"the {route} search found nothing")
    ctx.values["embedding_outcome" if route != "labels" else "label_outcome"] = outcome
    return outcome


def _wait(ctx: Context, condition: Callable[[], bool], what: str, timeout: float = STEP_TIMEOUT) -> None:
    """Turn the event loop until ``condition`` holds (like ``--screenshot``); an error the window
    shows in its status bar or gallery ends the wait early."""

    app, window = ctx.need("app"), ctx.need("window")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if condition():
            return
        message = window.statusBar().currentMessage()
        if message.startswith("Unexpected error"):
            raise StepFailed(message)
        time.sleep(0.005)
    raise StepFailed(f"gave up waiting {timeout:.0f} s for {what} "
                     f"(status bar: {window.statusBar().currentMessage() or '-'})")


def close_window(ctx: Context) -> None:
    window = ctx.values.pop("window", None)
    app = ctx.values.pop("app", None)
    if window is not None:
        window.close()
    if app is not None:
        app.processEvents()
