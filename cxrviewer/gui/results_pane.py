"""The results gallery: a search box, library / route / filters, and a tile per similar case.

The gallery is a ``QListView`` over a model, with a delegate that paints each tile (thumbnail,
score, view, age / sex, finding chips), so 1,000 results scroll smoothly: nothing is a widget
per tile, and a tile's thumbnail is only asked for once the tile is painted.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPixmap
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
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.reports.labels import ALL_LABELS

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
TILE = QSize(164, 236)
THUMB = 148
REPORT_ROW_HEIGHT = 64
SEARCH_PAUSE_MS = 450  # typing pause after which the query runs by itself

SHORT_NAMES = {
    "No Finding": "Normal", "Enlarged Cardiomediastinum": "Wide mediast.", "Cardiomegaly": "Cardiomeg.",
    "Lung Opacity": "Opacity", "Lung Lesion": "Lesion", "Pleural Effusion": "Effusion",
    "Pleural Other": "Pleural", "Support Devices": "Devices", "Pleural Thickening": "Pl. thick.",
}
CHIP_COLOURS = {"positive": QColor(190, 70, 60), "uncertain": QColor(200, 145, 40)}
NORMAL_COLOUR = QColor(70, 140, 90)


def chip_items(findings: dict[str, str]) -> list[tuple[str, QColor]]:
    """(text, colour) per finding worth a chip: positives, then uncertain ones (with "?")."""
    chips = []
    for status in ("positive", "uncertain"):
        for label in ALL_LABELS:
            if findings.get(label) == status:
                text = SHORT_NAMES.get(label, label)
                colour = NORMAL_COLOUR if label == "No Finding" else CHIP_COLOURS[status]
                chips.append((text + ("?" if status == "uncertain" else ""), colour))
    return chips


def describe(case) -> str:
    age = f"{case.age:.0f}" if case.age is not None else "?"
    return f"{case.view or '?'} · {case.sex or '?'} {age}"


class ResultsModel(QAbstractListModel):
    """Hits and their thumbnails. Asking for a missing thumbnail queues it in ``wanted``."""

    thumbnailsWanted = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hits: list = []
        self.thumbs: dict[str, QPixmap] = {}
        self.wanted: list[str] = []
        self._asked: set[str] = set()
        self._row_of: dict[str, int] = {}
        self.anonymise = False

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{hit.rank}. {hit.case.case_id}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(hit)
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self.thumbs.get(hit.case.case_id)
            if pixmap is None and hit.case.case_id not in self._asked:
                self._asked.add(hit.case.case_id)
                self.wanted.append(hit.case.case_id)
                self.thumbnailsWanted.emit()
            return pixmap
        return None

    def _tooltip(self, hit) -> str:
        import html

        case = hit.case
        ident = "" if self.anonymise else f"{html.escape(case.case_id)}<br>"
        impression = html.escape(case.impression or "(no report text)")
        return (f"<b>#{hit.rank}</b> score {hit.score:.3f}<br>{ident}{describe(case)}<br>"
                f"<p style='white-space:pre-wrap; max-width: 360px'>{impression}</p>")

    def set_hits(self, hits) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self._row_of = {h.case.case_id: n for n, h in enumerate(self.hits)}
        self.thumbs = {k: v for k, v in self.thumbs.items() if k in self._row_of}
        self._asked = set(self.thumbs)
        self.wanted = []
        self.endResetModel()

    def append_hits(self, hits) -> int:
        """Add the hits not shown yet at the end (a longer run of the same query); the rows
        already there, and the scroll position, stay. Returns how many were added."""
        new = [h for h in hits if h.case.case_id not in self._row_of]
        if new:
            first = len(self.hits)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self.hits.extend(new)
            self._row_of.update({h.case.case_id: first + n for n, h in enumerate(new)})
            self.endInsertRows()
        return len(new)

    def take_wanted(self) -> list[str]:
        wanted, self.wanted = self.wanted, []
        return wanted

    def set_thumbnail(self, case_id: str, pixmap: QPixmap) -> None:
        row = self._row_of.get(case_id)
        if row is None:
            return
        # Scaled once here, not in every paint of the tile.
        self.thumbs[case_id] = pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation)
        index = self.index(row)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def thumbnails_complete(self, rows: range) -> bool:
        return all(self.hits[r].case.case_id in self.thumbs for r in rows if r < len(self.hits))


class ResultDelegate(QStyledItemDelegate):
    """Paints a tile (films view) or a report row (reports view)."""

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view
        self.reports_mode = False

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        if self.reports_mode:
            return QSize(max(200, self.view.viewport().width() - 8), REPORT_ROW_HEIGHT)
        return TILE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        hit = index.data(HIT_ROLE)
        if hit is None:
            return
        painter.save()
        rect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.highlight() if selected else option.palette.base())
        painter.drawRoundedRect(rect, 6, 6)
        if self.reports_mode:
            self._paint_report(painter, rect, hit, option, selected)
        else:
            self._paint_tile(painter, rect, hit, index, option, selected)
        painter.restore()

    def _paint_tile(self, painter, rect: QRect, hit, index, option, selected: bool) -> None:
        thumb_rect = QRect(rect.left() + (rect.width() - THUMB) // 2, rect.top() + 6, THUMB, THUMB)
        painter.fillRect(thumb_rect, QColor(0, 0, 0))
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None:
            x = thumb_rect.left() + (thumb_rect.width() - pixmap.width()) // 2
            y = thumb_rect.top() + (thumb_rect.height() - pixmap.height()) // 2
            painter.drawPixmap(x, y, pixmap)
        text_colour = option.palette.highlightedText().color() if selected else option.palette.text().color()
        top = thumb_rect.bottom() + 4
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_colour)
        line = QFontMetrics(bold).height()
        painter.drawText(QRect(rect.left() + 6, top, rect.width() - 12, line),
                         Qt.AlignmentFlag.AlignLeft, f"#{hit.rank}")
        painter.drawText(QRect(rect.left() + 6, top, rect.width() - 12, line),
                         Qt.AlignmentFlag.AlignRight, f"{hit.score:.3f}")
        painter.setFont(option.font)
        painter.drawText(QRect(rect.left() + 6, top + line, rect.width() - 12, line),
                         Qt.AlignmentFlag.AlignLeft, describe(hit.case))
        self._paint_chips(painter, QRect(rect.left() + 4, top + 2 * line + 2, rect.width() - 8,
                                         rect.bottom() - top - 2 * line - 2), hit.case.findings, option)

    def _paint_chips(self, painter, area: QRect, findings: dict[str, str], option) -> None:
        small = QFont(option.font)
        small.setPointSizeF(max(6.5, option.font.pointSizeF() * 0.8))
        painter.setFont(small)
        metrics = QFontMetrics(small)
        x, y = area.left(), area.top()
        height = metrics.height() + 2
        for text, colour in chip_items(findings):
            width = metrics.horizontalAdvance(text) + 8
            if x + width > area.right() and x > area.left():
                x, y = area.left(), y + height + 2
            if y + height > area.bottom():
                break
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRect(x, y, width, height), 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRect(x, y, width, height), Qt.AlignmentFlag.AlignCenter, text)
            x += width + 3

    def _paint_report(self, painter, rect: QRect, hit, option, selected: bool) -> None:
        text_colour = option.palette.highlightedText().color() if selected else option.palette.text().color()
        painter.setPen(text_colour)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        line = QFontMetrics(bold).height()
        painter.drawText(QRect(rect.left() + 6, rect.top() + 3, 120, line), Qt.AlignmentFlag.AlignLeft,
                         f"#{hit.rank}  {hit.score:.3f}")
        painter.setFont(option.font)
        painter.drawText(QRect(rect.left() + 126, rect.top() + 3, rect.width() - 132, line),
                         Qt.AlignmentFlag.AlignLeft, describe(hit.case))
        body = QRect(rect.left() + 6, rect.top() + 3 + line, rect.width() - 12, rect.height() - line - 6)
        painter.drawText(body, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignTop,
                         hit.case.impression or "(no report text)")


class ResultsPane(QWidget):
    """Controls and gallery; emits plain requests, the search controller does the work."""

    searchRequested = Signal()  # read the query and filters from the pane
    similarRequested = Signal(str)  # "films" or "reports"
    libraryChosen = Signal(str)  # name or path
    routeChosen = Signal(str)
    caseActivated = Signal(object)  # Hit
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
        self.compare_button.setToolTip("Side by side with the viewed film, window/level synced (or double-click a result)")
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
            combo.activated.connect(lambda _: self.searchRequested.emit())
        for spin in (self.age_min, self.age_max):
            spin.editingFinished.connect(self.searchRequested.emit)
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

    def _query_paused(self) -> None:
        if self.query.text().strip():
            self.searchRequested.emit()

    def _query_entered(self) -> None:
        self._pause.stop()
        self.searchRequested.emit()

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
