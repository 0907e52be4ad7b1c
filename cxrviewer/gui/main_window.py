"""The main window: study browser, viewer with series strip, report / tags, and the results pane.

All slow work (scans, decoding, thumbnails, reports) goes to background executors through
:class:`ExecutorBridge`; this module only reacts to their results on the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cxrviewer import __version__, settings as settings_store
from cxrviewer.gui.bridge import ExecutorBridge
from cxrviewer.gui.report_pane import ReportPane
from cxrviewer.gui.study_browser import SeriesStrip, StudyBrowser, _image_label
from cxrviewer.gui.tag_browser import TagBrowser
from cxrviewer.services import JobEvent

APP_TITLE = "cxrviewer"


def about_text(window) -> str:
    """Version, purpose, and the models whose output this window has shown, with their licences."""
    models = dict(window.explainer.models_shown) if window._explainer is not None else {}
    outcome = getattr(window._search, "last_outcome", None) if window._search is not None else None
    if outcome is not None and outcome.licence:
        models.setdefault(outcome.model, f"licence: {outcome.licence}")
    lines = [f"cxrviewer {__version__}", "Offline chest X-ray viewer and case search for teaching.",
             "Not for diagnostic use."]
    if models:
        lines += ["", "Models whose output this window shows:"]
        lines += [f"• {name}: {text}" for name, text in sorted(models.items())]
    return "\n".join(lines)


def _jobs():
    """The study jobs module, imported on first use: showing the window does not need it."""
    from cxrviewer.services import study

    return study


class WarmUp(QThread):
    """Imports the viewer's libraries off the GUI thread while the empty window is on screen."""

    done = Signal()

    def run(self) -> None:
        import numpy  # noqa: F401
        import pyqtgraph  # noqa: F401

        import cxrviewer.gui.explain_controller  # noqa: F401
        import cxrviewer.gui.results_pane  # noqa: F401
        import cxrviewer.gui.search_controller  # noqa: F401
        import cxrviewer.gui.viewer  # noqa: F401
        import cxrviewer.imaging.display  # noqa: F401
        from cxrviewer.services.heap import freeze_long_lived

        freeze_long_lived()
        self.done.emit()


class MainWindow(QMainWindow):
    idle = Signal()  # every requested scan, decode, thumbnail and report has arrived
    scanFinished = Signal()  # a folder scan ended (done, failed or cancelled)

    def __init__(self, settings: settings_store.Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or settings_store.load()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.shortcut_table: list[tuple[str, str, str]] = []  # (menu, action, keys) for Help
        self._busy: dict[str, int] = {}
        self.current_path: str | None = None
        self._current_series: list[str] = []
        self._current_study_key: str | None = None
        self.root_path: str | None = None
        self.scan_started = 0.0
        self.last_open_seconds = 0.0
        self.persist_settings = True  # off for --screenshot and tests: never clobber the user's layout
        self.channel_handlers: dict[str, Callable[[JobEvent], None]] = {}
        self.library_case = None  # library.store.CaseRow of the film shown, from a search or found by path
        self.library_case_source = ""
        self._file_report = None  # the StudyReport found beside the study's files (SR, report.txt)
        self._file_report_state = "pending"  # "pending", "done", or why it could not be read
        self._case_lookup = ""  # the film whose case is being looked up in the open library

        self.scanner = ExecutorBridge("cxrviewer-scan", self)
        self.loader = ExecutorBridge("cxrviewer-image", self)
        self.thumbnailer = ExecutorBridge("cxrviewer-thumbs", self)
        for bridge in (self.scanner, self.loader, self.thumbnailer):
            bridge.event.connect(self._on_job_event)

        # The viewer (pyqtgraph + numpy, ~0.4 s of imports) is built just after the window first
        # paints, with its imports warmed in a thread, so the window appears at once.
        self._viewer = None
        self._viewer_placeholder = QLabel("Starting the viewer…")
        self._viewer_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._viewer_placeholder.setStyleSheet("background: black; color: gray;")
        self.strip = SeriesStrip()
        central = QWidget()
        self._central_layout = QVBoxLayout(central)
        self._central_layout.setContentsMargins(0, 0, 0, 0)
        self._central_layout.setSpacing(0)
        self._central_layout.addWidget(self._viewer_placeholder, 1)
        self._central_layout.addWidget(self.strip)
        self.setCentralWidget(central)

        self.browser = StudyBrowser()
        self.report_pane = ReportPane()
        self.tags = TagBrowser()
        self._results = None  # the results pane and its controllers follow the viewer (first paint)
        self._search = None
        self._explainer = None
        self.browser_dock = self._dock("Studies", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.report_dock = self._dock("Report", self.report_pane, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tags_dock = self._dock("DICOM tags", self.tags, Qt.DockWidgetArea.RightDockWidgetArea)
        # The gallery runs under the viewer (a row of tiles), between the studies and the report
        # columns, which keep the full height.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.results_dock = self._dock("Results", QLabel("Starting the case search…"), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.browser_dock, self.report_dock], [260, 400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [330], Qt.Orientation.Vertical)

        self._build_status_bar()
        self._findings_panel = None
        self.findings_dock = self._dock("Findings", QLabel("Finding probabilities appear here for a film."),
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.splitDockWidget(self.report_dock, self.findings_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.report_dock, self.tags_dock)
        self.report_dock.raise_()
        self.resizeDocks([self.report_dock, self.findings_dock], [620, 300], Qt.Orientation.Vertical)
        self._build_actions()
        self._warmup = WarmUp(self)
        self._warmup.done.connect(lambda: self.viewer)
        self._painted = False
        self._after_paint: list[Callable[[], None]] = []
        self.browser.imageActivated.connect(self.open_image)
        self.strip.imageActivated.connect(self.open_image)
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(80)
        self._thumb_timer.timeout.connect(self.request_thumbnails)
        self.strip.horizontalScrollBar().valueChanged.connect(lambda _: self._thumb_timer.start())
        self._restore_settings()

    # -- construction -------------------------------------------------------------------------

    @property
    def viewer(self):
        """The image viewer, built on first use (normally right after the window first shows)."""
        if self._viewer is None:
            from cxrviewer.gui.viewer import ImageViewer

            viewer = ImageViewer()
            viewer.pixelInfo.connect(self.pixel_label.setText)
            viewer.measurementChanged.connect(lambda text: self.statusBar().showMessage(text) if text else None)
            viewer.levelsChanged.connect(lambda *_: self._update_wl_label())
            viewer.set_overlays_visible(self.settings.show_overlays)
            viewer.set_anonymise(self.settings.anonymise)
            self._central_layout.replaceWidget(self._viewer_placeholder, viewer)
            self._viewer_placeholder.deleteLater()
            self._viewer = viewer
            self.explainer.connect_viewer(viewer)
        return self._viewer

    @property
    def results(self):
        """The results pane, built on first use (normally right after the window first shows)."""
        if self._results is None:
            from cxrviewer.gui.results_pane import ResultsPane

            self._results = ResultsPane()
            self.results_dock.setWidget(self._results)
        return self._results

    @property
    def search(self):
        if self._search is None:
            from cxrviewer.gui.search_controller import SearchController

            self._search = SearchController(self)
        return self._search

    @property
    def explainer(self):
        if self._explainer is None:
            from cxrviewer.gui.explain_controller import ExplainController

            self._explainer = ExplainController(self)
        return self._explainer

    @property
    def findings_panel(self):
        """The findings panel (pyqtgraph bars), built on first use like the viewer."""
        if self._findings_panel is None:
            from cxrviewer.gui.findings_panel import FindingsPanel

            self._findings_panel = FindingsPanel()
            self.findings_dock.setWidget(self._findings_panel)
        return self._findings_panel

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # After the first paint, so the imports' GIL use cannot delay the window appearing.
            if self._viewer is None:  # not already built on demand (a study opened before the paint)
                self._warmup.start()
            QTimer.singleShot(0, self._run_after_paint)  # once this frame is on screen

    def viewer_built(self) -> bool:
        return self._viewer is not None

    def after_first_paint(self, callback: Callable[[], None], fallback_ms: int = 1000) -> None:
        """Run ``callback`` once the window has first been drawn (at once if it has been).

        Start-up work such as opening the case library imports modules and submits jobs; done
        before the first paint it delays the window. A window that is never painted (started
        minimised) still runs it after ``fallback_ms``.
        """
        self._after_paint.append(callback)
        if self._painted:
            QTimer.singleShot(0, self._run_after_paint)
        else:
            QTimer.singleShot(fallback_ms, self._run_after_paint)

    def _run_after_paint(self) -> None:
        callbacks, self._after_paint = self._after_paint, []
        for callback in callbacks:
            callback()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        """Messages on the left; on the right, permanent widgets that a message never hides: the
        pixel readout (as in every viewer, it must stay readable while the mouse moves over the
        film whatever the last message), window/level, progress."""
        bar = self.statusBar()
        self.pixel_label = QLabel()
        # Wide enough for a typical readout, so the message area does not jump as values change.
        self.pixel_label.setMinimumWidth(self.pixel_label.fontMetrics().horizontalAdvance(
            "x 0000  y 0000   stored 00000   value -0000 HU"))
        self.wl_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_scan)
        bar.addPermanentWidget(self.pixel_label)
        bar.addPermanentWidget(self.wl_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)

    def _action(self, menu, text: str, keys: str | QKeySequence.StandardKey | list[str] | None, slot: Callable, checkable: bool = False, checked: bool = False) -> QAction:
        action = QAction(text, self)
        if keys is not None:
            sequences = [QKeySequence(k) for k in keys] if isinstance(keys, list) else [QKeySequence(keys)]
            action.setShortcuts(sequences)  # Qt's default context: the whole window
            shown = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
            self.shortcut_table.append((menu.title().replace("&", ""), text.replace("&", ""), shown))
        action.setCheckable(checkable)
        if checkable:
            action.setChecked(checked)
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whichever pane has focus
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open folder…", QKeySequence.StandardKey.Open, self.choose_folder)
        self._action(file_menu, "Open &file…", "Ctrl+Shift+O", self.choose_file)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._fill_recent_menu()
        file_menu.addSeparator()
        self._action(file_menu, "&Save view as PNG…", "Ctrl+S", self.save_view_png)
        self._action(file_menu, "&Build case library…", "Ctrl+B", lambda: self.search.choose_and_build())
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        view = bar.addMenu("&View")
        self._action(view, "&Fit to window", "F", lambda: self.viewer.fit())
        self._action(view, "&Actual pixels (1:1)", "Ctrl+0", lambda: self.viewer.one_to_one())
        self._action(view, "Zoom &in", ["+", "="], lambda: self.viewer.zoom(1.25))
        self._action(view, "Zoom &out", "-", lambda: self.viewer.zoom(0.8))
        view.addSeparator()
        self._action(view, "Rotate &right", "R", lambda: self.viewer.rotate(90))
        self._action(view, "Rotate &left", "Shift+R", lambda: self.viewer.rotate(-90))
        self._action(view, "Flip &horizontal", "H", lambda: self.viewer.flip(True))
        self._action(view, "Flip &vertical", "V", lambda: self.viewer.flip(False))
        self.invert_action = self._action(view, "&Invert", "I", self._toggle_invert)
        self._action(view, "Re&set view", "Home", self._reset_view)
        view.addSeparator()
        self.magnifier_action = self._action(view, "&Magnifier", "M", lambda on: self.viewer.set_magnifier(on), checkable=True)
        self.overlay_action = self._action(view, "Corner &overlays", "O", self._set_overlays, checkable=True, checked=self.settings.show_overlays)
        self.anonymise_action = self._action(view, "&Anonymise (hide identifying data)", "Ctrl+Shift+A", self.set_anonymise, checkable=True, checked=self.settings.anonymise)
        view.addSeparator()
        self._action(view, "&Next image", ["Down", "PgDown"], lambda: self.step_image(1))
        self._action(view, "&Previous image", ["Up", "PgUp"], lambda: self.step_image(-1))
        self._action(view, "Next fra&me", "Right", lambda: self.viewer.step_frame(1))
        self._action(view, "Previous fram&e", "Left", lambda: self.viewer.step_frame(-1))

        self.wl_menu = bar.addMenu("&Window/Level")
        self._preset_actions: list[QAction] = []
        for i in range(9):
            action = self._action(self.wl_menu, f"Preset {i + 1}", str(i + 1), lambda i=i: self.apply_preset(i))
            action.setVisible(False)
            self._preset_actions.append(action)

        tools = bar.addMenu("&Tools")
        group = QActionGroup(self)
        self.tool_actions = {}
        for tool, text, keys in (("pan", "&Pan / zoom", "P"), ("measure", "Measure &length", "L"), ("ctr", "&Cardiothoracic ratio", "C")):
            action = self._action(tools, text, keys, lambda on, t=tool: on and self.set_tool(t), checkable=True, checked=tool == "pan")
            group.addAction(action)
            self.tool_actions[tool] = action
        self._action(tools, "Clear &measurements", ["Delete", "Esc"], lambda: self.viewer.clear_measurements())
        self._action(tools, "&Find tag…", "Ctrl+F", self._focus_tag_filter)
        tools.addSeparator()
        self._action(tools, "&Train a model…", "Ctrl+T", self.show_training)
        self._action(tools, "&Import a model…", None, self.import_model)

        search = bar.addMenu("&Search")
        self._action(search, "&Search box", "Ctrl+K", lambda: (self.results_dock.raise_(), self.results.query.setFocus(), self.results.query.selectAll()))
        self._action(search, "Similar &films", "Ctrl+Shift+S", lambda: self.search.similar("films"))
        self._action(search, "Similar &reports", "Ctrl+Shift+R", lambda: self.search.similar("reports"))
        self._action(search, "&Compare with the selected result", "Ctrl+Shift+C", lambda: self.search.compare(self.results.selected_hit()))
        self._action(search, "Search &filters", "Ctrl+Shift+F", lambda: self.results.filters_button.toggle())
        search.addSeparator()
        self._action(search, "&Explain this film (saliency)", "E", lambda: self.explainer.explain())
        self._action(search, "Show saliency &overlay", "S", lambda: self.viewer.saliency.bar.show_box.toggle())
        self.auto_explain_action = self._action(search, "Explain films &automatically", None,
                                                lambda on: setattr(self.explainer, "auto", on), checkable=True)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", "F1", self.show_shortcuts)
        self._action(help_menu, "&About cxrviewer", None, self.show_about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.addAction(file_menu.actions()[0])
        toolbar.addSeparator()
        for action in self.tool_actions.values():
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" W/L "))
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumWidth(200)
        self.preset_combo.activated.connect(self.apply_preset)
        toolbar.addWidget(self.preset_combo)
        toolbar.addAction(self.invert_action)
        toolbar.addSeparator()
        toolbar.addAction(self.magnifier_action)
        toolbar.addAction(self.anonymise_action)

    # -- opening ----------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Open study folder", self.settings.last_folder or str(Path.home()))
        if folder:
            self.open_path(folder)

    def choose_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_folder or str(Path.home()), "Images (*.dcm *.dicom *.png *.jpg *.jpeg DICOMDIR);;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """Scan a folder (or one file) in the background; the first image shows as soon as found."""
        path = str(Path(path).expanduser().resolve())
        if not Path(path).exists():
            self.statusBar().showMessage(f"Not found: {path}")
            return
        self.root_path = path
        self.current_path = None
        self.library_case = None
        self._file_report, self._file_report_state = None, "pending"
        self._current_series = []
        self._current_study_key = None
        self.browser.reset()
        self.strip.set_series([], {})
        self.viewer.clear()
        self.tags.set_tags(())
        self.report_pane.show_none("Looking for a report…")
        self.settings.remember_folder(_jobs().folder_of(path))
        self._fill_recent_menu()
        self.setWindowTitle(f"{APP_TITLE} — {Path(path).name}" if not self.anonymise_action.isChecked() else APP_TITLE)
        self.scan_started = time.perf_counter()
        self.progress.setRange(0, 0)
        self.progress.setFormat("Scanning…")
        self.progress.show()
        self.cancel_button.show()
        self._submit(self.scanner, _jobs().scan_folder, path, channel="scan")

    def cancel_scan(self) -> None:
        self.scanner.executor.cancel_channel("scan")

    def open_image(self, path: str) -> None:
        if not path:
            return
        self.current_path = path
        self.browser.select_path(path)
        self.strip.mark_current(path)
        self._open_started = time.perf_counter()
        self._submit(self.loader, _jobs().open_image, path, channel="image")
        series = self.browser.series_paths(path)
        if series != self._current_series:
            self._current_series = series
            headers = self.browser.headers
            appearing = len(series) > 1 and self.strip.isHidden()
            self.strip.set_series(series, {p: _image_label(headers[p]) for p in series if p in headers})
            if appearing:  # its tiles are in view only once the layout has placed it
                self.centralWidget().layout().activate()
            self.request_thumbnails()
        header = self.browser.headers.get(path)
        study_key = (header.study_uid if header else "") or _jobs().folder_of(path)
        if study_key != self._current_study_key:
            self._current_study_key = study_key
            study_images = self.browser.study_paths(path)
            reports = [p for p in self.browser.report_paths if self.browser.headers[p].study_uid == study_key]
            self._file_report, self._file_report_state = None, "pending"
            self._submit(self.loader, _jobs().load_report, study_images, reports, channel="report")
        self._look_up_library_case(path)

    def _look_up_library_case(self, path: str) -> None:
        """A film not opened from a search may still be a case of the open library (a dataset's
        folder opened from disk): ask the library, whose labels and report it then shows."""
        case = self.library_case
        if case is not None and case.image == path:
            return
        self.library_case = None
        self._case_lookup = ""
        if self._search is not None and self._search.library is not None:
            self._case_lookup = path
            self._search.look_up_case(path)
        if case is not None and self._file_report_state != "pending":
            self._show_report()  # not the previous film's labels while this one's are looked up

    def library_opened(self, library_path: str) -> None:
        """A case library, and the finding model it brings, has just opened: a film shown
        before it (start-up order, a slow library) gets what it gets when the library comes
        first, its library case and its finding probabilities."""
        if self.library_case is not None and Path(self.library_case_source) != Path(library_path):
            self.library_case = None  # a case of the library open before
        if not self.current_path:
            return
        self._look_up_library_case(self.current_path)
        if self._viewer is not None and self._viewer.image is not None:
            self.explainer.film_opened()

    def library_case_found(self, path: str, case, library_path: str) -> None:
        """The open library's answer for the film at ``path``: its case, or None."""
        if path != self.current_path:
            return
        self._case_lookup = ""
        if case is not None:
            self.library_case, self.library_case_source = case, library_path
        self._show_report()

    def request_thumbnails(self) -> None:
        """Thumbnails for the part of the strip in view (and a margin), not the whole series."""
        wanted = [p for p in self.strip.visible_paths() if not self.strip.has_thumbnail(p)]
        if wanted:
            self._submit(self.thumbnailer, _jobs().make_thumbnails, wanted, self.strip.thumb_size, channel="thumbs")

    def step_image(self, delta: int) -> None:
        if not self._current_series or self.current_path not in self._current_series:
            return
        index = self._current_series.index(self.current_path) + delta
        if 0 <= index < len(self._current_series):
            self.open_image(self._current_series[index])

    def _submit(self, bridge: ExecutorBridge, fn, *args, channel: str) -> None:
        self.submit_job(bridge, fn, *args, channel=channel)

    def submit_job(self, bridge: ExecutorBridge, fn, *args, channel: str, supersede: bool = True) -> None:
        """Run ``fn(context, *args)`` on ``bridge``'s worker; the window is busy until it ends."""
        job = bridge.submit(fn, *args, channel=channel, supersede=supersede)
        self._busy[channel] = job.id

    def on_job_event(self, event: JobEvent) -> None:
        self._on_job_event(event)

    # -- results from the workers --------------------------------------------------------------

    def _on_job_event(self, event: JobEvent) -> None:
        handler = self.channel_handlers.get(event.channel) or getattr(self, f"_on_{event.channel}", None)
        if handler is not None:
            handler(event)
        if event.kind in ("done", "error", "cancelled") and self._busy.get(event.channel) == event.job_id:
            del self._busy[event.channel]
            if not self._busy:
                self.idle.emit()

    def is_idle(self) -> bool:
        return not self._busy

    def _on_scan(self, event: JobEvent) -> None:
        if event.kind == "partial":
            self.browser.add_items(event.payload.items)
            self.progress.setFormat(f"Scanning: {event.payload.scanned:,} files")
            if self.current_path is None:
                first = self.browser.first_image_path()
                if first:
                    self.open_image(first)
            return
        if event.kind == "progress":
            return
        self.scanFinished.emit()
        self.progress.hide()
        self.cancel_button.hide()
        self.browser.finish()
        seconds = time.perf_counter() - self.scan_started
        images, issues = self.browser.image_count(), self.browser.issue_count()
        summary = f"{images:,} images"
        if issues:
            summary += f", {issues:,} files skipped (see Skipped)"
        if event.kind == "error":
            summary = f"Scan stopped: {event.payload}. " + summary
        elif event.kind == "cancelled":
            summary = "Scan cancelled. " + summary
        self.statusBar().showMessage(f"{summary} — scanned in {seconds:.1f} s")
        if self.current_path is None:
            first = self.browser.first_image_path()
            if first:
                self.open_image(first)
            else:
                self.report_pane.show_none("No images found.")
                self.viewer.placeholder.setText("No readable images here. See the Skipped tab for reasons.")

    def _on_image(self, event: JobEvent) -> None:
        if event.kind == "done":
            opened = event.payload
            self.viewer.show_image(opened)
            # Paint the film now; the tag tree and preset menu below can follow a frame later.
            self.viewer.graphics.viewport().repaint()
            self.viewer.set_anonymise(self.anonymise_action.isChecked(), self.browser.patient_index(self.current_path))
            self.tags.set_tags(opened.image.tags)
            self._fill_presets()
            self._update_wl_label()
            self.last_open_seconds = time.perf_counter() - self._open_started
            self.explainer.film_opened()
            if opened.image.warnings:
                self.statusBar().showMessage("Shown with a warning: " + "; ".join(opened.image.warnings))
        elif event.kind == "error":
            reason = getattr(event.payload, "reason", None) or f"cannot decode: {event.payload}"
            self.viewer.show_error(f"Cannot show {Path(self.current_path or '').name}", reason)
            self.tags.set_tags(())
            self.statusBar().showMessage(f"Cannot show this image: {reason}")

    def _on_thumbs(self, event: JobEvent) -> None:
        if event.kind == "partial":
            thumb = event.payload
            self.strip.set_thumbnail(thumb.path, thumb.pixels, thumb.error)

    def open_case(self, case, library_path: str) -> None:
        """Show a library case: its film, and the report the library holds for it (datasets keep
        reports in CSVs and text trees the study folder does not have)."""
        self.open_path(case.image)
        self.library_case = case
        self.library_case_source = library_path

    def _library_report(self):
        case = self.library_case
        if case is None or case.image != self.current_path:
            return None
        return _jobs().library_report(case, Path(self.library_case_source).name)

    def _on_report(self, event: JobEvent) -> None:
        if event.kind == "done":
            self._file_report, self._file_report_state = event.payload, "done"
        elif event.kind == "error":
            self._file_report, self._file_report_state = None, f"The report could not be read: {event.payload}"
        else:
            return
        self._show_report()

    def _show_report(self) -> None:
        """What is known about the film shown: its library case (the dataset's report and
        labels) first, else the report found with the study's files, else why there is none."""
        report = self._library_report() or self._file_report
        if report is not None:
            self.report_pane.show_report(report, redact=self._redactor())
            self.report_pane.set_anonymise(self.anonymise_action.isChecked(), self._redactor())
        elif self._file_report_state == "pending" or self._case_lookup == self.current_path:
            self.report_pane.show_none("Looking for a report…")
            return
        elif self._file_report_state != "done":
            self.report_pane.show_none(self._file_report_state)
        else:
            self.report_pane.show_none()
        if self._findings_panel is not None:
            report = self.report_pane.report
            self._findings_panel.set_stated(dict(getattr(report, "findings", ()) or ()) if report else {})

    # -- viewer controls ------------------------------------------------------------------------------

    def _fill_presets(self) -> None:
        presets = self.viewer.presets
        self.preset_combo.clear()
        for i, preset in enumerate(presets):
            self.preset_combo.addItem(f"{i + 1}. {preset.name}" if i < 9 else preset.name)
        self.preset_combo.setCurrentIndex(self.viewer.opened.default_preset)
        for i, action in enumerate(self._preset_actions):
            action.setVisible(i < len(presets))
            if i < len(presets):
                action.setText(presets[i].name)

    def apply_preset(self, index: int) -> None:
        self.viewer.apply_preset(index)
        if 0 <= index < self.preset_combo.count():
            self.preset_combo.setCurrentIndex(index)
        self._update_wl_label()

    def _toggle_invert(self) -> None:
        self.viewer.toggle_invert()
        self._update_wl_label()

    def _reset_view(self) -> None:
        self.viewer.reset_view()
        if self.viewer.opened is not None:
            self.preset_combo.setCurrentIndex(self.viewer.opened.default_preset)
        self._update_wl_label()

    def _update_wl_label(self) -> None:
        w = self.viewer.window
        if w is None or self.viewer.image is None or self.viewer.image.is_color:
            self.wl_label.setText("")
            return
        inv = " inverted" if self.viewer.user_invert else ""
        self.wl_label.setText(f"{self.viewer.preset_name}: W {w.width:.0f} L {w.center:.0f}{inv}")

    def set_tool(self, tool: str) -> None:
        self.viewer.set_tool(tool)
        if not self.tool_actions[tool].isChecked():
            self.tool_actions[tool].setChecked(True)
        hints = {
            "pan": "Drag to pan, wheel to zoom, right-drag for window/level.",
            "measure": "Drag to measure a length.",
            "ctr": "Drag the cardiac width, then the thoracic width (both horizontal).",
        }
        self.statusBar().showMessage(hints[tool])

    def _set_overlays(self, on: bool) -> None:
        self.settings.show_overlays = on
        if self._viewer is not None:
            self._viewer.set_overlays_visible(on)

    def set_anonymise(self, on: bool) -> None:
        """One switch that hides identifying data everywhere: overlays, tree, tags, report, title."""
        self.settings.anonymise = on
        if self.anonymise_action.isChecked() != on:
            self.anonymise_action.setChecked(on)
            return
        index = self.browser.patient_index(self.current_path) if self.current_path else 1
        if self._viewer is not None:
            self._viewer.set_anonymise(on, index)
        self.browser.set_anonymise(on)
        self.tags.set_anonymise(on)
        self.report_pane.set_anonymise(on, self._redactor())
        if self._search is not None:
            self._search.set_anonymise(on)
        if self.root_path:
            self.setWindowTitle(APP_TITLE if on else f"{APP_TITLE} — {Path(self.root_path).name}")

    def _redactor(self):
        from cxrviewer.imaging.anonymise import redact_text

        header = self.browser.headers.get(self.current_path) if self.current_path else None
        if header is None:
            return None
        return lambda text: redact_text(text, header)

    def _focus_tag_filter(self) -> None:
        self.tags_dock.show()
        self.tags_dock.raise_()
        self.tags.filter.setFocus()

    def save_view_png(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Save view as PNG", str(Path(self.settings.last_folder or Path.home()) / "view.png"), "PNG (*.png)")
        if path:
            self.viewer.graphics.grab().save(path, "PNG")

    def show_training(self) -> None:
        from cxrviewer.gui.training_dialog import TrainingDialog

        library = self.search.library.path if self.search.library is not None else ""
        self.training_dialog = TrainingDialog(self, library)
        self.training_dialog.show()

    def import_model(self) -> None:
        from cxrviewer.gui.model_import import import_model

        import_model(self)

    def show_shortcuts(self) -> None:
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem

        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(self.shortcut_table), 3)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        for row, values in enumerate(self.shortcut_table):
            for col, value in enumerate(values):
                table.setItem(row, col, QTableWidgetItem(value))
        table.resizeColumnsToContents()
        table.verticalHeader().hide()
        extra = QLabel("Mouse: left-drag pans (or draws with the active tool), wheel zooms, right-drag adjusts window (horizontal) and level (vertical).")
        extra.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(extra)
        layout.addWidget(buttons)
        dialog.resize(560, 640)
        dialog.show()
        self._shortcuts_dialog = dialog

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "About cxrviewer", about_text(self))

    # -- drag and drop ----------------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # -- settings and closing -----------------------------------------------------------------------------

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_path(f))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    def _restore_settings(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        else:
            self.resize(1500, 950)
        if self.settings.window_state:
            self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode()))
        if self.settings.anonymise:
            self.set_anonymise(True)

    def save_settings(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.settings.window_state = bytes(self.saveState().toBase64()).decode()
        try:
            settings_store.save(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}")

    def shutdown_workers(self) -> None:
        self._after_paint.clear()  # start-up work still queued must not start on a closing window
        self._warmup.wait()
        if self._search is not None:
            self._search.shutdown()
        for bridge in (self.scanner, self.loader, self.thumbnailer):
            bridge.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.persist_settings:
            self.save_settings()
        self.shutdown_workers()
        super().closeEvent(event)
