"""The results pane: a search box, library / route / filters, and the gallery of similar cases.

The pane only shows and asks: its signals carry what the user asked for (the query and the
filters, a library, a route, a result), the search controller does the work.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.gui.results_delegate import ResultDelegate
from cxrviewer.gui.results_model import HIT_ROLE, ResultsModel
from cxrviewer.reports.labels import ALL_LABELS

SEARCH_PAUSE_MS = 450  # typing pause after which the query runs by itself


class ResultsPane(QWidget):
    """Controls and gallery; emits plain requests, the search controller does the work."""

    searchRequested = Signal(str, dict)  # the query, the filters (library.Filters fields)
    similarRequested = Signal(str)  # "films" or "reports"
    libraryChosen = Signal(str)  # name or path
    routeChosen = Signal(str)
    caseActivated = Signal(object)  # Hit: open it
    caseSelected = Signal(object)  # Hit or None: the result looked at
    compareRequested = Signal(object)  # Hit
    moreWanted = Signal()  # the gallery was scrolled to its end

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query = QLineEdit()
        self.query.setPlaceholderText('Impression, e.g. "mild cardiomegaly, small left effusion"')
        self.query.setClearButtonEnabled(True)
        self.similar_button = QToolButton()
        self.similar_button.setText("Similar films")
        self.similar_button.setToolTip("Films most similar to the one in the viewer (Ctrl+Shift+S)")
        self.reports_button = QToolButton()
        self.reports_button.setText("Similar reports")
        self.reports_button.setToolTip("Reports of the films nearest to the one in the viewer")
        self.compare_button = QToolButton()
        self.compare_button.setText("Compare")
        self.compare_button.setToolTip("Side by side with the viewed film, window/level synced "
                                       "(or double-click a result)")
        self.library_box = QComboBox()
        self.library_box.setToolTip("Case library to search")
        self.route_box = QComboBox()
        self.route_box.setToolTip("How cases are compared: their findings (labels) or an image/text model")
        self.filters_button = QToolButton()
        self.filters_button.setText("Filters")
        self.filters_button.setCheckable(True)
        self.banner = QLabel()
        self.banner.setStyleSheet("background: #7a5a00; color: white; padding: 2px 6px; border-radius: 3px;")
        self.banner.hide()
        self.status = QLabel("Type an impression and press Enter.")
        self.status.setStyleSheet("color: palette(mid);")
        self.status.setWordWrap(True)

        self.filters = self._build_filters()
        self.filters.setVisible(False)
        self.filters_button.toggled.connect(self.filters.setVisible)

        self.model = ResultsModel(self)
        self.gallery = QListView()
        self.gallery.setModel(self.model)
        self.delegate = ResultDelegate(self.gallery)
        self.gallery.setItemDelegate(self.delegate)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.gallery.setMouseTracking(True)
        self.set_reports_mode(False)

        # Controls in a column beside the gallery, so the gallery keeps the dock's full height.
        buttons = QHBoxLayout()
        buttons.addWidget(self.similar_button)
        buttons.addWidget(self.reports_button)
        buttons.addWidget(self.compare_button)
        choices = QFormLayout()
        choices.addRow("Library", self.library_box)
        choices.addRow("Route", self.route_box)
        self.controls_layout = QVBoxLayout()
        self.controls_layout.setSpacing(3)
        self.controls_layout.addWidget(self.query)
        self.controls_layout.addLayout(buttons)
        self.controls_layout.addLayout(choices)
        self.controls_layout.addWidget(self.filters_button)
        self.controls_layout.addWidget(self.filters)
        self.controls_layout.addWidget(self.banner)
        self.controls_layout.addWidget(self.status)
        self.controls_layout.addStretch(1)
        controls = QWidget()
        controls.setLayout(self.controls_layout)
        controls.setFixedWidth(330)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(controls)
        layout.addWidget(self.gallery, 1)

        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(SEARCH_PAUSE_MS)
        self._pause.timeout.connect(self._query_paused)
        self.query.textEdited.connect(lambda _: self._pause.start())
        self.query.returnPressed.connect(self._query_entered)
        self.similar_button.clicked.connect(lambda: self.similarRequested.emit("films"))
        self.reports_button.clicked.connect(lambda: self.similarRequested.emit("reports"))
        self.compare_button.clicked.connect(self._compare_selected)
        self.library_box.activated.connect(lambda i: self.libraryChosen.emit(self.library_box.itemData(i)))
        self.route_box.activated.connect(lambda i: self.routeChosen.emit(self.route_box.itemData(i)))
        # A click opens the result, a double-click compares it with the film in the viewer; the
        # click waits out the double-click interval so a double-click never replaces that film.
        self._click = QTimer(self)
        self._click.setSingleShot(True)
        self._click.setInterval(QApplication.doubleClickInterval())
        self._clicked_hit = None
        self._click.timeout.connect(lambda: self.caseActivated.emit(self._clicked_hit))
        self.gallery.clicked.connect(self._on_click)
        self.gallery.doubleClicked.connect(self._on_double_click)
        self.gallery.installEventFilter(self)
        self.gallery.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.gallery.selectionModel().currentChanged.connect(lambda index, _: self.caseSelected.emit(
            index.data(HIT_ROLE) if index.isValid() else None))

    def _build_filters(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        self.view_filter = QComboBox()
        for text, value in (("Any view", ""), ("PA", "PA"), ("AP", "AP"), ("Lateral", "LATERAL")):
            self.view_filter.addItem(text, value)
        self.sex_filter = QComboBox()
        for text, value in (("Any sex", ""), ("Female", "F"), ("Male", "M")):
            self.sex_filter.addItem(text, value)
        self.age_min = QSpinBox()
        self.age_max = QSpinBox()
        for spin, value in ((self.age_min, 0), (self.age_max, 120)):
            spin.setRange(0, 120)
            spin.setValue(value)
        ages = QHBoxLayout()
        ages.addWidget(self.age_min)
        ages.addWidget(QLabel("to"))
        ages.addWidget(self.age_max)
        self.require_filter = QComboBox()
        self.exclude_filter = QComboBox()
        for combo, first in ((self.require_filter, "Must have: any"), (self.exclude_filter, "Must not have: -")):
            combo.addItem(first, "")
            for label in ALL_LABELS:
                if label != "No Finding":
                    combo.addItem(label, label)
        row = QHBoxLayout()
        row.addWidget(self.view_filter)
        row.addWidget(self.sex_filter)
        form.addRow(row)
        form.addRow("Age", ages)
        form.addRow(self.require_filter)
        form.addRow(self.exclude_filter)
        for combo in (self.view_filter, self.sex_filter, self.require_filter, self.exclude_filter):
            combo.activated.connect(lambda _: self.request_search())
        for spin in (self.age_min, self.age_max):
            spin.editingFinished.connect(self.request_search)
        return box

    # -- reading the controls ------------------------------------------------------------------

    def filter_values(self) -> dict:
        """The filters as plain values (``library.Filters`` fields)."""
        low, high = self.age_min.value(), self.age_max.value()
        return {
            "views": (self.view_filter.currentData(),) if self.view_filter.currentData() else (),
            "sex": self.sex_filter.currentData() or "",
            "age_min": float(low) if low > 0 else None,
            "age_max": float(high) if high < 120 else None,
            "required": (self.require_filter.currentData(),) if self.require_filter.currentData() else (),
            "excluded": (self.exclude_filter.currentData(),) if self.exclude_filter.currentData() else (),
        }

    def selected_hit(self):
        indexes = self.gallery.selectedIndexes()
        return indexes[0].data(HIT_ROLE) if indexes else None

    def request_search(self) -> None:
        """Ask for the typed query with the filters set (Enter, a typing pause, a filter)."""
        self._pause.stop()
        self.searchRequested.emit(self.query.text().strip(), self.filter_values())

    def _query_paused(self) -> None:
        if self.query.text().strip():
            self.request_search()

    def _query_entered(self) -> None:
        self.request_search()

    def set_query(self, text: str) -> None:
        """Show a query the session chose (the first start's example) without asking again."""
        self._pause.stop()
        self.query.setText(text)

    def stop(self) -> None:
        """No typing pause or click left to fire (the window is closing)."""
        self._pause.stop()
        self._click.stop()

    def _on_click(self, index) -> None:
        self._clicked_hit = index.data(HIT_ROLE)
        self._click.start()

    def _on_double_click(self, index) -> None:
        self._click.stop()
        self.compareRequested.emit(index.data(HIT_ROLE))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.gallery and event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Return, Qt.Key.Key_Enter):
            hit = self.selected_hit()
            if hit is not None:
                self.caseActivated.emit(hit)
                return True
        return super().eventFilter(watched, event)

    def _compare_selected(self) -> None:
        hit = self.selected_hit()
        if hit is not None:
            self.compareRequested.emit(hit)

    # -- showing state ---------------------------------------------------------------------------

    def set_libraries(self, entries: list[tuple[str, str]], current: str) -> None:
        """``entries`` are (label, name-or-path)."""
        self.library_box.blockSignals(True)
        self.library_box.clear()
        for label, value in entries:
            self.library_box.addItem(label, value)
        found = self.library_box.findData(current)
        self.library_box.setCurrentIndex(max(0, found))
        self.library_box.blockSignals(False)

    def set_routes(self, routes: tuple[str, ...], current: str) -> None:
        self.route_box.blockSignals(True)
        self.route_box.clear()
        for route in routes:
            self.route_box.addItem("Findings (labels)" if route == "labels" else f"Model: {route}", route)
        self.route_box.setCurrentIndex(max(0, self.route_box.findData(current)))
        self.route_box.blockSignals(False)

    def current_route(self) -> str:
        return self.route_box.currentData() or "labels"

    def set_synthetic(self, synthetic: bool) -> None:
        self.banner.setText("Synthetic demo data — not real patients")
        self.banner.setVisible(synthetic)

    def set_reports_mode(self, on: bool) -> None:
        if on == self.delegate.reports_mode and self.gallery.viewMode() == (
                QListView.ViewMode.ListMode if on else QListView.ViewMode.IconMode):
            return  # relaying out the gallery for nothing costs tens of ms with 100 tiles
        self.delegate.reports_mode = on
        if on:
            self.gallery.setViewMode(QListView.ViewMode.ListMode)
            self.gallery.setUniformItemSizes(True)
            self.gallery.setWordWrap(True)
        else:
            self.gallery.setViewMode(QListView.ViewMode.IconMode)
            self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
            self.gallery.setMovement(QListView.Movement.Static)
            self.gallery.setUniformItemSizes(True)
            self.gallery.setSpacing(4)
        self.gallery.setLayoutMode(QListView.LayoutMode.Batched)
        self.gallery.setBatchSize(200)
        self.gallery.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.gallery.doItemsLayout()

    def show_outcome(self, outcome) -> None:
        self.model.set_hits(outcome.hits)
        result = outcome.result
        what = outcome.query_label or "query"
        if result.message:
            self.status.setText(result.message)
        elif not outcome.hits:
            self.status.setText(f"No case matches {what!r} with these filters.")
        else:
            self.status.setText(f"{len(outcome.hits)} results for {what} · {outcome.seconds * 1000:.0f} ms")
        self.gallery.scrollToTop()

    def append_outcome(self, outcome) -> None:
        """A longer run of the shown query: new hits go to the end, the scroll position stays."""
        self.model.append_hits(outcome.hits)
        what = outcome.query_label or "query"
        self.status.setText(f"{len(self.model.hits)} results for {what} · {outcome.seconds * 1000:.0f} ms")

    def _scrolled(self, value: int) -> None:
        bar = self.gallery.verticalScrollBar()
        if bar.maximum() > 0 and value >= bar.maximum() - bar.pageStep():
            self.moreWanted.emit()

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def visible_rows(self) -> list[int]:
        """Rows whose tiles are on screen."""
        viewport = self.gallery.viewport().rect()
        return [row for row in range(len(self.model.hits))
                if self.gallery.visualRect(self.model.index(row)).intersects(viewport)]
