"""The main window: layout (viewer and series strip in the middle, docks around), the menus built
from the action table (``gui.actions``), and the status bar.

What the window shows is the session model's (``services.session.Session``); controllers keep
widgets and model in step: ``StudyController`` (browser, strip, viewer, tags, report),
``ViewerControls`` (presets, W/L, tools), ``SearchController`` (results pane, gallery, compare),
``ExplainController`` (saliency, findings panel). Each submits its own jobs with callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget

from cxrviewer import settings as settings_store
from cxrviewer.gui.actions import ACTIONS, MENUS, TOOLBAR, Command, Separator, Submenu
from cxrviewer.gui.bridge import GuiThread
from cxrviewer.gui.first_paint import FirstPaint
from cxrviewer.gui.report_pane import ReportPane
from cxrviewer.gui.series_strip import SeriesStrip
from cxrviewer.gui.study_browser import StudyBrowser
from cxrviewer.gui.study_controller import StudyController
from cxrviewer.gui.tag_browser import TagBrowser
from cxrviewer.gui.viewer_controls import ViewerControls
from cxrviewer.services.session import Session

APP_TITLE = "cxrviewer"
LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class MainWindow(QMainWindow):
    idle = Signal()  # every job asked for (scans, films, thumbnails, searches...) has reported

    def __init__(self, settings: settings_store.Settings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.persist_settings = True  # off for --screenshot and tests: never clobber the user's layout
        self.session = Session(settings or settings_store.load(), post=GuiThread(self).post)
        self.settings = self.session.settings
        self.session.workers.activity.became_idle.connect(self.idle.emit)
        self.shortcut_table: list[tuple[str, str, str]] = []  # (menu, action, keys) for Help

        # The viewer (pyqtgraph + numpy, ~0.4 s of imports) is built just after the window first
        # paints, with its imports warmed in a thread, so the window appears at once; so are the
        # results pane and the findings panel.
        self._viewer: Any = None
        self._results: Any = None
        self._search: Any = None
        self._explainer: Any = None
        self._dialogs: Any = None
        self._findings_panel: Any = None
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
        self.browser = StudyBrowser(self.session.study.tree)
        self.report_pane = ReportPane()
        self.tags = TagBrowser()
        self._build_docks()

        self.viewer_controls = ViewerControls(lambda: self.viewer, self.statusBar().showMessage, self)
        self.study = StudyController(self.session, self.browser, self.strip, self.tags, self.report_pane,
                                     lambda: self.viewer, self.viewer_built, self)
        self.study.filmShown.connect(self.viewer_controls.film_shown)
        self._build_status_bar()
        self._build_actions()
        self._observe_session()
        self.first_paint = FirstPaint(self, self._build_deferred)
        self._restore_settings()

    # -- parts built after the first paint (or on first use) ------------------------------------------

    @property
    def viewer(self) -> Any:
        """The image viewer, built on first use (normally right after the window first shows)."""
        if self._viewer is None:
            from cxrviewer.gui.viewer import ImageViewer

            viewer = ImageViewer()
            viewer.pixelInfo.connect(self.pixel_label.setText)
            viewer.measurementChanged.connect(lambda text: self.statusBar().showMessage(text) if text else None)
            viewer.set_overlays_visible(self.session.show_overlays)
            film = self.session.film
            viewer.set_anonymise(self.session.anonymise, self.session.study.tree.patient_index(film.path or ""))
            self._central_layout.replaceWidget(self._viewer_placeholder, viewer)
            self._viewer_placeholder.deleteLater()
            self._viewer = viewer
            self.viewer_controls.bind_viewer(viewer)
            self.study.bind_viewer(viewer)
            if self._explainer is not None:
                self._explainer.bind_viewer(viewer)
        return self._viewer

    @property
    def explainer(self) -> Any:
        """Saliency and finding scores for the film shown (built after the first paint)."""
        if self._explainer is None:
            from cxrviewer.gui.explain_controller import ExplainController

            self._explainer = ExplainController(self.session, lambda: self.viewer, lambda: self.findings_panel,
                                                self.statusBar().showMessage, self.statusBar().addPermanentWidget,
                                                self)
            if self._viewer is not None:
                self._explainer.bind_viewer(self._viewer)
        return self._explainer

    @property
    def dialogs(self) -> Any:
        """Open, save, train, import, shortcuts, About (``gui.dialogs``)."""
        if self._dialogs is None:
            from cxrviewer.gui.dialogs import WindowDialogs

            self._dialogs = WindowDialogs(self)
        return self._dialogs

    def viewer_built(self) -> bool:
        return self._viewer is not None

    @property
    def results(self) -> Any:
        """The results pane (the gallery and its controls)."""
        if self._results is None:
            from cxrviewer.gui.results_pane import ResultsPane

            self._results = ResultsPane()
            self.results_dock.setWidget(self._results)
        return self._results

    @property
    def search(self) -> Any:
        """The controller between the results pane and the session's search."""
        if self._search is None:
            from cxrviewer.gui.search_controller import SearchController

            self._search = SearchController(self.session, self.results, lambda: self.viewer, self)
            for widget in self._search.status_widgets():
                self.statusBar().addPermanentWidget(widget)
        return self._search

    @property
    def findings_panel(self) -> Any:
        """The findings panel (pyqtgraph bars), built with the first finding scores."""
        if self._findings_panel is None:
            from cxrviewer.gui.findings_panel import FindingsPanel

            self._findings_panel = FindingsPanel()
            self._findings_panel.importRequested.connect(self.dialogs.import_model)
            self._findings_panel.trainRequested.connect(self.dialogs.show_training)
            self.findings_dock.setWidget(self._findings_panel)
        return self._findings_panel

    def _build_deferred(self) -> None:
        self.viewer  # noqa: B018 - built now, its imports warm
        self.explainer  # noqa: B018
        self.search  # noqa: B018
        from cxrviewer.gui.teaching import install  # the gallery's "add to collection" menu
        install(self)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        self.first_paint.paint()

    def after_first_paint(self, callback: Callable[[], None], fallback_ms: int = 1000) -> None:
        """Run ``callback`` once the window has first been drawn (see ``FirstPaint.after``)."""
        self.first_paint.after(callback, fallback_ms)

    # -- layout -------------------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable | features.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.browser_dock = self._dock("Studies", self.browser, LEFT)
        self.report_dock = self._dock("Report", self.report_pane, RIGHT)
        self.tags_dock = self._dock("DICOM tags", self.tags, RIGHT)
        # The gallery runs under the viewer (a row of tiles), between the studies and the report
        # columns, which keep the full height.
        self.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
        self.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
        self.results_dock = self._dock("Results", QLabel("Starting the case search…"), BOTTOM)
        self.resizeDocks([self.browser_dock, self.report_dock], [260, 400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [330], Qt.Orientation.Vertical)
        self.findings_dock = self._dock("Findings", QLabel("Finding probabilities appear here for a film."), RIGHT)
        self.splitDockWidget(self.report_dock, self.findings_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.report_dock, self.tags_dock)
        self.report_dock.raise_()
        self.resizeDocks([self.report_dock, self.findings_dock], [620, 300], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        """Messages on the left; on the right, permanent widgets that a message never hides: the
        pixel readout (as in every viewer, it must stay readable while the mouse moves over the
        film whatever the last message), window/level, the scan's progress."""
        bar = self.statusBar()
        self.pixel_label = QLabel()
        # Wide enough for a typical readout, so the message area does not jump as values change.
        self.pixel_label.setMinimumWidth(self.pixel_label.fontMetrics().horizontalAdvance(
            "x 0000  y 0000   stored 00000   value -0000 HU"))
        self.wl_label = self.viewer_controls.wl_label
        for widget in (self.pixel_label, self.wl_label, *self.study.status_widgets()):
            bar.addPermanentWidget(widget)

    def _build_actions(self) -> None:
        """Menus, shortcuts and toolbar from the action table."""
        menus = {title: self.menuBar().addMenu(title) for title in MENUS}
        groups: dict[str, QActionGroup] = {}
        self.actions_by_name: dict[str, QAction] = {}
        for entry in ACTIONS:
            menu = menus[entry.menu]
            if isinstance(entry, Separator):
                menu.addSeparator()
            elif isinstance(entry, Submenu):
                setattr(self, entry.name, menu.addMenu(entry.text))
            else:
                action = self._action(menu, entry)
                if entry.group:
                    groups.setdefault(entry.group, QActionGroup(self)).addAction(action)
                if entry.name:
                    self.actions_by_name[entry.name] = action
                    setattr(self, entry.name, action)
        controls = self.viewer_controls
        controls.preset_actions = [self.actions_by_name[f"preset_{i + 1}"] for i in range(9)]
        for action in controls.preset_actions:
            action.setVisible(False)
        controls.tool_actions = {tool: self.actions_by_name[f"tool_{tool}"] for tool in ("pan", "measure", "ctr")}
        self.tool_actions = controls.tool_actions
        self._fill_recent_menu()
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        for name in TOOLBAR:
            if name == "|":
                toolbar.addSeparator()
            elif name == "presets":
                toolbar.addWidget(QLabel(" W/L "))
                toolbar.addWidget(controls.preset_combo)
            else:
                toolbar.addAction(self.actions_by_name[name])

    def _action(self, menu: QMenu, command: Command) -> QAction:
        action = QAction(command.text, self)
        keys = command.keys
        if keys is not None:
            sequences = [QKeySequence(k) for k in keys] if isinstance(keys, list) else [QKeySequence(keys)]
            action.setShortcuts(sequences)  # Qt's default context: the whole window
            shown = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
            self.shortcut_table.append((menu.title().replace("&", ""), command.text.replace("&", ""), shown))
        if command.checkable:
            action.setCheckable(True)
            action.setChecked(bool(command.checked and command.checked(self)))
            action.toggled.connect(lambda on: command.run(self, on))
        else:
            action.triggered.connect(lambda _=False: command.run(self))
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whichever pane has focus
        return action

    # -- the session's state that the window itself shows -------------------------------------------

    def _observe_session(self) -> None:
        session = self.session
        session.events.status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        session.events.anonymise.connect(self._anonymise_changed)
        session.events.overlays.connect(lambda on: self._viewer is not None and self._viewer.set_overlays_visible(on))
        session.study.events.opened.connect(lambda _: (self._fill_recent_menu(), self._update_title()))

    def _anonymise_changed(self, on: bool) -> None:
        action = self.anonymise_action
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)
        self._update_title()

    def _update_title(self) -> None:
        root = self.session.study.root
        self.setWindowTitle(f"{APP_TITLE} — {Path(root).name}" if root and not self.session.anonymise else APP_TITLE)

    def is_idle(self) -> bool:
        return self.session.is_idle()

    # -- drag and drop --------------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.session.open_path(paths[0])

    # -- settings and closing -------------------------------------------------------------------------

    def _fill_recent_menu(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        for folder in self.settings.recent_folders:
            menu.addAction(folder).triggered.connect(lambda _=False, f=folder: self.session.open_path(f))
        menu.setEnabled(bool(self.settings.recent_folders))

    def _restore_settings(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        else:
            self.resize(1500, 950)
        if self.settings.window_state:
            self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode()))

    def save_settings(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.settings.window_state = bytes(self.saveState().toBase64()).decode()
        try:
            settings_store.save(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}")

    def shutdown_workers(self) -> None:
        self.first_paint.stop()
        self.study.shutdown()
        if self._search is not None:
            self._search.shutdown()
        self.session.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.persist_settings:
            self.save_settings()
        self.shutdown_workers()
        super().closeEvent(event)
