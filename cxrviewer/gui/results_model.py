"""The gallery's data: the hits of the shown search and their thumbnails (asked for only when a
tile is painted), with the text each tile shows."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from cxrviewer.reports.labels import ALL_LABELS

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
TILE = QSize(164, 236)
THUMB = 148
REPORT_ROW_HEIGHT = 64

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
