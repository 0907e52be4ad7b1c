"""The cases of a collection as a list the teacher reorders by dragging.

A drop does not move rows itself: it asks the store to move the case (``on_move(case_id,
index)``); the store's change reloads the list, so the list always shows what is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractListModel, QByteArray, QMimeData, QModelIndex, QPersistentModelIndex, Qt

from cxrviewer.teaching.model import Case

CASE_MIME = "application/x-cxrviewer-teaching-case"
CASE_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


def case_label(case: Case) -> str:
    """A case's line in the list: its place, title (or what it shows), difficulty, marks."""
    t = case.teaching
    shown = t.title or t.diagnosis or ", ".join(k.label for k in case.known_findings if k.status == "positive")
    parts = [f"{case.position + 1}. {shown or 'Untitled case'}"]
    if t.difficulty:
        parts.append(f"[{t.difficulty}]")
    if case.annotations:
        parts.append(f"✎{len(case.annotations)}")
    return "  ".join(parts)


def case_tooltip(case: Case) -> str:
    t = case.teaching
    lines = [t.title or "Untitled case", f"Film: {case.film.source}"
             + (" (anonymised copy)" if case.film.anonymised else "")]
    if t.tags:
        lines.append("Tags: " + ", ".join(t.tags))
    if t.history:
        lines.append("History: " + t.history)
    return "\n".join(lines)


class CaseListModel(QAbstractListModel):
    """Cases in collection order; ``reorderable`` is off while a search filters the list."""

    def __init__(self, on_move: Callable[[str, int], None]) -> None:
        super().__init__()
        self.cases: list[Case] = []
        self.reorderable = True
        self._on_move = on_move

    def set_cases(self, cases: Sequence[Case], reorderable: bool = True) -> None:
        self.beginResetModel()
        self.cases = list(cases)
        self.reorderable = reorderable
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.cases)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.cases):
            return None
        case = self.cases[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return case_label(case)
        if role == Qt.ItemDataRole.ToolTipRole:
            return case_tooltip(case)
        if role == CASE_ROLE:
            return case
        return None

    def row_of(self, case_id: str) -> int:
        return next((n for n, c in enumerate(self.cases) if c.case_id == case_id), -1)

    # -- drag and drop ------------------------------------------------------------------------------

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not self.reorderable:
            return base
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return [CASE_MIME]

    def mimeData(self, indexes: Sequence[Index]) -> QMimeData:  # noqa: N802 - Qt override
        data = QMimeData()
        rows = [i.row() for i in indexes if i.isValid()]
        if rows:
            data.setData(CASE_MIME, QByteArray(self.cases[rows[0]].case_id.encode()))
        return data

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802 - Qt override
                        parent: Index) -> bool:
        return self.reorderable and data.hasFormat(CASE_MIME)

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802 - Qt override
                     parent: Index) -> bool:
        """Move the dragged case to where it was dropped (before ``row``; on an item: before it).
        Returns False: the list is reloaded from the store, never edited by the view."""
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        case_id = bytes(data.data(CASE_MIME).data()).decode()
        source = self.row_of(case_id)
        if source < 0:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else len(self.cases)
        target = row if row <= source else row - 1
        if target != source:
            self._on_move(case_id, target)
        return False
