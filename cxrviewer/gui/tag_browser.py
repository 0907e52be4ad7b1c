"""A searchable DICOM tag tree (sequences included) that hides identifying values when asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from cxrviewer.imaging.records import TagNode

HIDDEN = "‹hidden›"
DAMAGED_BRUSH = QBrush(QColor(200, 60, 40))


class TagBrowser(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter tags: keyword, (gggg,eeee) or value")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Keyword", "VR", "Value"])
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 100)
        self.tree.setColumnWidth(1, 190)
        self.tree.setColumnWidth(2, 36)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.nodes: tuple[TagNode, ...] = ()
        self.anonymise = False

    def set_tags(self, nodes: tuple[TagNode, ...]) -> None:
        self.nodes = nodes
        self._rebuild()

    def set_anonymise(self, on: bool) -> None:
        if on != self.anonymise:
            self.anonymise = on
            self._rebuild()

    def _rebuild(self) -> None:
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        self.tree.addTopLevelItems([self._item(node) for node in self.nodes])
        self.tree.setUpdatesEnabled(True)
        self._apply_filter(self.filter.text())

    def _item(self, node: TagNode) -> QTreeWidgetItem:
        value = HIDDEN if (self.anonymise and node.identifying) else node.value
        item = QTreeWidgetItem([node.tag, node.keyword, node.vr, value])
        item.setToolTip(3, value)
        if node.damaged:  # shown as the file has it, marked, with why it could not be read
            for column in range(4):
                item.setForeground(column, DAMAGED_BRUSH)
                item.setToolTip(column, f"Damaged element: {node.damaged}")
        item.addChildren([self._item(child) for child in node.children])
        return item

    def visible_values(self) -> list[str]:
        """Every value shown (recursively); tests use it to check nothing identifying leaks."""
        values: list[str] = []

        def walk(item: QTreeWidgetItem) -> None:
            if not item.isHidden():
                values.append(item.text(3))
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return values

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()

        def visit(item: QTreeWidgetItem) -> bool:
            own = not needle or any(needle in item.text(c).lower() for c in range(4))
            child_match = False
            for i in range(item.childCount()):
                child_match = visit(item.child(i)) or child_match
            shown = own or child_match
            item.setHidden(not shown)
            if needle and child_match:
                item.setExpanded(True)
            return shown

        for i in range(self.tree.topLevelItemCount()):
            visit(self.tree.topLevelItem(i))
