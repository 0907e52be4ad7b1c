"""Painting the gallery: a tile per result (thumbnail, rank and score, view, sex and age, finding
chips) or, for "similar reports", a row with the report's impression. Nothing is a widget per
tile, so 1,000 results scroll smoothly."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cxrviewer.gui.results_model import HIT_ROLE, REPORT_ROW_HEIGHT, THUMB, TILE, chip_items, describe


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
