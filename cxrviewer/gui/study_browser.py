"""The study browser: the study model as a tree (patient > study > series > image) and, in a
second tab, the files that could not be used, with their reasons.

The tree view shows ``StudyTreeModel``, which fetches rows only as they are shown, so a scan
streaming thousands of files never makes the GUI thread build rows no one looks at.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QTreeView, QTreeWidget, QTreeWidgetItem, QWidget

from cxrviewer.gui.study_tree_model import PATH_ROLE, StudyTreeModel

if TYPE_CHECKING:
    from cxrviewer.imaging.records import FileIssue
    from cxrviewer.imaging.study_tree import StudyTree


class StudyBrowser(QTabWidget):
    """Tabs: the study tree and the skipped files. Selecting a row asks for its first image."""

    imageActivated = Signal(str)  # path

    def __init__(self, tree: StudyTree, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.study_tree = tree
        self.model = StudyTreeModel(tree, self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 200)
        self.tree.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        self.issues = QTreeWidget()
        self.issues.setHeaderLabels(["File", "Reason"])
        self.issues.setColumnWidth(0, 180)
        self.issues.setRootIsDecorated(False)
        self.addTab(self.tree, "Studies")
        self.addTab(self.issues, "Skipped")
        self._issues_shown = 0
        self._selecting = False

    def reset(self) -> None:
        """A new folder: the tree model resets with the study model; the skipped list here."""
        self.issues.clear()
        self._issues_shown = 0
        self._update_tab_titles()

    def show_new_issues(self) -> None:
        """List the skipped files the scan has added since the last call."""
        new = self.study_tree.issues[self._issues_shown:]
        if not new:
            return
        self._issues_shown += len(new)
        self.issues.setUpdatesEnabled(False)
        self.issues.addTopLevelItems([_issue_row(issue) for issue in new])
        self.issues.setUpdatesEnabled(True)
        self._update_tab_titles()

    def finish(self) -> None:
        """The scan is complete: show the studies of every patient, unless the user has chosen."""
        self.show_new_issues()
        if self.model.rowCount() and not self.tree.selectionModel().hasSelection():
            self.tree.expandToDepth(1)

    def set_anonymise(self, on: bool) -> None:
        self.model.set_anonymise(on)

    def select_path(self, path: str) -> None:
        """Mark the film shown (without asking to open it again)."""
        index = self.model.index_of_path(path)
        if index.isValid():
            self._selecting = True
            try:
                self.tree.setCurrentIndex(index)
            finally:
                self._selecting = False

    def _on_selection(self) -> None:
        if self._selecting:
            return
        indexes = self.tree.selectionModel().selectedRows()
        if not indexes:
            return
        first = self.study_tree.first_image_under(indexes[0].internalPointer())
        if first is not None:
            self.imageActivated.emit(first.path)

    def issue_reasons(self) -> dict[str, str]:
        """File name -> the reason shown (for tests and the status bar)."""
        return {self.issues.topLevelItem(i).text(0): self.issues.topLevelItem(i).text(1)
                for i in range(self.issues.topLevelItemCount())}

    def _update_tab_titles(self) -> None:
        count = self._issues_shown
        title = f"Skipped ({count})" if count else "Skipped"
        if self.tabText(1) != title:  # setTabText re-lays out the dock, and so repaints the window
            self.setTabText(1, title)


def _issue_row(issue: FileIssue) -> QTreeWidgetItem:
    row = QTreeWidgetItem([Path(issue.path).name, issue.reason])
    row.setToolTip(0, issue.path)
    row.setToolTip(1, issue.reason)
    row.setData(0, PATH_ROLE, issue.path)
    if issue.severity == "warning":
        row.setText(1, f"warning: {issue.reason}")
    return row

