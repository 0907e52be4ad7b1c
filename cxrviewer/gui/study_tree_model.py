"""The study model (``imaging.study_tree.StudyTree``) as a Qt item model for the study browser.

The tree is the data; this model only shows it. It listens to the tree (rows inserted as the
scan streams in) and fetches a node's rows lazily, when the view first shows them (Qt's
``canFetchMore``/``fetchMore``): during a scan of thousands of files the only rows the view is
told about are the patients and whatever the user has expanded, so no batch stalls the GUI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from cxrviewer.imaging.study_tree import Node, PatientNode, SeriesNode, StudyNode, StudyTree

if TYPE_CHECKING:
    from cxrviewer.imaging.records import ImageHeader

PATH_ROLE = Qt.ItemDataRole.UserRole
Index = QModelIndex | QPersistentModelIndex


def format_dicom_date(value: str) -> str:
    """DICOM DA "20240131" as "2024-01-31"; anything else unchanged."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def image_label(header: ImageHeader) -> str:
    number = f"#{header.instance_number}" if header.instance_number is not None else Path(header.path).name
    size = f"{header.columns}x{header.rows}" if header.rows else ""
    frames = f"{header.frames} fr" if header.frames > 1 else ""
    return " ".join(x for x in (number, header.view_position, size, frames) if x)


def patient_label(patient: PatientNode, anonymise: bool) -> str:
    if anonymise:  # a folder's name can be a patient's name too: masked like the header's
        from cxrviewer.imaging.anonymise import masked_header

        shown = masked_header(patient.header, patient.order)
        return " ".join(x for x in (shown.patient_name, shown.patient_sex, shown.patient_age) if x)
    details = " ".join(x for x in (patient.sex, patient.age) if x)
    return f"{patient.name or '(no name)'}  {patient.patient_id}  {details}".strip()


def study_label(study: StudyNode, anonymise: bool) -> str:
    date = "" if anonymise else format_dicom_date(study.date)
    return " ".join(x for x in (date, study.description) if x) or "Study"


def series_label(series: SeriesNode) -> str:
    number = f"#{series.number}" if series.number is not None else ""
    return " ".join(x for x in (series.modality, number, series.description) if x) or "Series"


class StudyTreeModel(QAbstractItemModel):
    """Patients > studies > series > images, two columns: the row's label and its image count."""

    def __init__(self, tree: StudyTree, parent: Any = None) -> None:
        super().__init__(parent)
        self.tree = tree
        self.anonymise = False
        self._fetched: set[int] = {id(tree)}  # nodes whose rows the view has been given
        tree.listener = self

    # -- the tree's changes ----------------------------------------------------------------------

    def tree_resetting(self) -> None:
        self.beginResetModel()

    def tree_reset(self) -> None:
        self._fetched = {id(self.tree)}
        self.endResetModel()

    def rows_inserting(self, parent: Node, row: int) -> None:
        if id(parent) in self._fetched:
            self.beginInsertRows(self._index_of(parent), row, row)

    def rows_inserted(self, parent: Node, row: int) -> None:
        if id(parent) in self._fetched:
            self.endInsertRows()

    def node_changed(self, node: Node) -> None:
        """A count changed, or the node got its first child (the view re-reads hasChildren)."""
        parent = node.parent
        if parent is not None and id(parent) in self._fetched:
            row = self.tree.row_in_parent(node)
            self.dataChanged.emit(self.createIndex(row, 0, node), self.createIndex(row, 1, node))

    def set_anonymise(self, on: bool) -> None:
        self.anonymise = on
        count = len(self.tree.children)
        if count:
            self.dataChanged.emit(self.index(0, 0), self.index(count - 1, 0))
            for patient in self.tree.children:  # study dates are hidden too
                if id(patient) in self._fetched and patient.children:
                    parent = self._index_of(patient)
                    self.dataChanged.emit(self.index(0, 0, parent), self.index(len(patient.children) - 1, 0, parent))

    # -- Qt's model interface --------------------------------------------------------------------

    def _node(self, index: Index) -> Any:
        return index.internalPointer() if index.isValid() else self.tree

    def _index_of(self, node: Any, column: int = 0) -> QModelIndex:
        if node is self.tree:
            return QModelIndex()
        return self.createIndex(self.tree.row_in_parent(node), column, node)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        node = self._node(parent)
        if not isinstance(node, Node) or not (0 <= row < len(node.children)) or id(node) not in self._fetched:
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        parent = self.tree.parent_of(index.internalPointer())
        if parent is None or parent is self.tree:
            return QModelIndex()
        return self._index_of(parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._node(parent)
        return len(node.children) if isinstance(node, Node) and id(node) in self._fetched else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 2

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802 - Qt override
        node = self._node(parent)
        return isinstance(node, Node) and bool(node.children) and (not parent.isValid() or parent.column() == 0)

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802 - Qt override
        node = self._node(parent)
        return isinstance(node, Node) and id(node) not in self._fetched and bool(node.children)

    def fetchMore(self, parent: Index) -> None:  # noqa: N802 - Qt override
        node = self._node(parent)
        if not isinstance(node, Node) or id(node) in self._fetched:
            return
        if node.children:
            self.beginInsertRows(parent, 0, len(node.children) - 1)
            self._fetched.add(id(node))
            self.endInsertRows()
        else:
            self._fetched.add(id(node))

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Study", "Images")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = index.internalPointer()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, index.column())
        if role == PATH_ROLE:
            return None if isinstance(node, Node) else node.path
        if role == Qt.ItemDataRole.ToolTipRole and not isinstance(node, Node) and not self.anonymise:
            return node.path
        return None

    def _text(self, node: Any, column: int) -> str:
        if column == 1:
            if isinstance(node, StudyNode):
                return str(node.image_count)
            return str(len(node.children)) if isinstance(node, SeriesNode) else ""
        if isinstance(node, PatientNode):
            return patient_label(node, self.anonymise)
        if isinstance(node, StudyNode):
            return study_label(node, self.anonymise)
        if isinstance(node, SeriesNode):
            return series_label(node)
        return image_label(node)

    # -- finding rows ------------------------------------------------------------------------------

    def index_of_path(self, path: str) -> QModelIndex:
        """The row of an image, fetching its ancestors' rows as needed (invalid when unknown)."""
        series = self.tree.series_of(path)
        if series is None:
            return QModelIndex()
        chain: list[Node] = []
        node: Node | None = series
        while node is not None and node is not self.tree:
            chain.append(node)
            node = node.parent
        for ancestor in reversed(chain):
            self.fetchMore(self._index_of(ancestor))
        header = self.tree.headers[path]
        return self.createIndex(self.tree.row_in_parent(header), 0, header)
