"""The window half of ``python -m cxrviewer.bench search`` (see :mod:`cxrviewer.bench.search`)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer

from cxrviewer.gui.launch import create_app
from cxrviewer.gui.main_window import MainWindow
from cxrviewer.settings import Settings


def bench_gui(library_path: Path, rounds: int, queries: tuple[str, ...]) -> float:
    """Impression to gallery painted, warm, through the real window and worker."""

    create_app()
    window = MainWindow(Settings(search_route=""))
    window.persist_settings = False
    window.resize(1600, 1000)
    window.show()
    search, session = window.search, window.session
    search.start(str(library_path))

    def wait(condition, timeout: float = 120.0) -> None:
        """Run the event loop as the app does, sleeping until an event comes. The outcome signal
        ends the wait itself; the timer is only a slow fallback for ``condition``. (A 1 ms timer
        here woke the GUI thread a thousand times a second to take the GIL from the worker's
        text tower, and added ~55 ms to every query that the app never pays.)"""
        deadline = time.monotonic() + timeout
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(20)
        check.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
        search.outcomeShown.connect(loop.quit)
        check.start()
        if not condition():
            loop.exec()
        check.stop()
        search.outcomeShown.disconnect(loop.quit)
        if not condition():
            raise TimeoutError("the window did not finish in time")

    wait(lambda: session.search.library is not None and window.is_idle())
    session.search.set_route(session.search.library.routes[0])
    wait(lambda: window.is_idle() and bool(session.search.device))
    shown: list[float] = []
    search.outcomeShown.connect(lambda _: shown.append(time.perf_counter()))
    times = []
    index_ms = []
    for n in range(rounds + 3):
        text = queries[n % len(queries)] + f" {n}"
        window.results.query.setText(text)
        shown.clear()
        started = time.perf_counter()
        window.results.request_search()  # as Enter in the search box
        wait(lambda: bool(shown))
        window.results.gallery.viewport().repaint()  # the gallery painted, tiles and all
        painted = time.perf_counter()
        if n >= 3:  # warm: the first queries load the tokenizer and fill caches
            times.append((painted - started) * 1000)
            index_ms.append(session.search.outcome.result.timings.get("index", 0) * 1000)
        # as after a user's query: the tiles' thumbnails load before the next one is typed
        wait(lambda: search.gallery_settled() and window.is_idle())
    median = statistics.median(times)
    print(f"  impression to gallery painted (warm, k=100): median {median:.1f} ms, "
          f"p90 {np.percentile(times, 90):.1f} ms (goal <= 100 ms); FAISS part median "
          f"{statistics.median(index_ms):.2f} ms; device {session.search.device}")
    scroll_through(window, wait)
    window.close()
    return median


def scroll_through(window: MainWindow, wait) -> None:
    """Scroll to the end (the app then asks for 1,000 results), then page through all of them
    as the user would, timing each page's scroll + paint while thumbnails load behind."""
    search, gallery = window.search, window.results.gallery
    bar = gallery.verticalScrollBar()
    shown: list[int] = []
    search.outcomeShown.connect(lambda o: shown.append(len(o.hits)))
    bar.setValue(bar.maximum())
    wait(lambda: bool(shown) and window.is_idle())
    bar.setValue(0)
    pages = []
    while True:
        started = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        gallery.viewport().repaint()
        pages.append((time.perf_counter() - started) * 1000)
        QEventLoop().processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 15)  # thumbnails arrive meanwhile
        if bar.value() >= bar.maximum():
            break
    print(f"  scrolling through {window.results.model.rowCount():,} results: {len(pages)} pages, "
          f"scroll + paint median {statistics.median(pages):.1f} ms, worst {max(pages):.1f} ms")
