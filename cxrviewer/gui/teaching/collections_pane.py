"""The Collections pane: pick a collection, search within it (text, finding, tag), reorder its
cases by dragging, edit a case's teaching fields and annotations, delete (Edit > Undo restores).

Every change goes to the store at once; the pane shows what the store says, reloading on its
change events (so an undo, a case added from the gallery or a drag all show the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.gui.teaching.case_editor import CaseEditor
from cxrviewer.gui.teaching.case_list import CASE_ROLE, CaseListModel
from cxrviewer.teaching.model import Annotation, Case, TeachingError

if TYPE_CHECKING:
    from cxrviewer.services.session.teaching import TeachingSession
    from cxrviewer.teaching.store import Change, TeachingStore

SEARCH_PAUSE_MS = 250
DEFAULT_COLLECTION = "Teaching file"


class CollectionsPane(QWidget):
    caseOpened = Signal(object)  # Case: show it in the viewer
    caseSelected = Signal(object)  # Case or None
    annotationSelected = Signal(str)  # annotation id ("" for none)
    sessionRequested = Signal()

    def __init__(self, teaching: TeachingSession, status: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.teaching = teaching
        self._status = status
        self.collection_box = QComboBox()
        self.collection_box.setMinimumContentsLength(12)
        new, rename, delete = (QPushButton(t) for t in ("New…", "Rename…", "Delete"))
        new.clicked.connect(lambda: self.ask_new_collection())
        rename.clicked.connect(self._rename_collection)
        delete.clicked.connect(self.delete_collection)
        self.search_text, self.search_finding, self.search_tag = QLineEdit(), QLineEdit(), QLineEdit()
        for box, hint in ((self.search_text, "Search text"), (self.search_finding, "Finding, e.g. effusion"),
                          (self.search_tag, "Tag")):
            box.setPlaceholderText(hint)
            box.setClearButtonEnabled(True)
            box.textChanged.connect(lambda _: self._search_paused())
        self.model = CaseListModel(self._move)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.doubleClicked.connect(lambda index: self.caseOpened.emit(index.data(CASE_ROLE)))
        self.list.selectionModel().currentChanged.connect(lambda index, _: self._case_chosen(index.data(CASE_ROLE)))
        self.editor = CaseEditor(self._save_fields)
        self.annotation_list = QListWidget()
        self.annotation_list.currentItemChanged.connect(
            lambda item, _: self.annotationSelected.emit(item.data(Qt.ItemDataRole.UserRole) if item else ""))
        edit_text, delete_mark = QPushButton("Edit text…"), QPushButton("Delete")
        edit_text.clicked.connect(self._edit_annotation_text)
        delete_mark.clicked.connect(self.delete_selected_annotation)
        marks = QWidget()
        marks_layout = QVBoxLayout(marks)
        marks_layout.addWidget(self.annotation_list)
        marks_layout.addLayout(_row(edit_text, delete_mark))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.editor, "Teaching fields")
        self.tabs.addTab(marks, "Annotations")
        open_case, delete_case, session = QPushButton("Open"), QPushButton("Delete case"), QPushButton("Session…")
        open_case.clicked.connect(lambda: self.caseOpened.emit(self.current_case()))
        delete_case.clicked.connect(self.delete_selected_case)
        session.clicked.connect(self.sessionRequested.emit)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.collection_box)
        top_layout.addLayout(_row(new, rename, delete))
        top_layout.addLayout(_row(self.search_text, self.search_finding, self.search_tag))
        top_layout.addWidget(self.list, 1)
        top_layout.addLayout(_row(open_case, delete_case, session))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._search_pause = QTimer(self)
        self._search_pause.setSingleShot(True)
        self._search_pause.setInterval(SEARCH_PAUSE_MS)
        self._search_pause.timeout.connect(self.reload_cases)
        self.collection_box.activated.connect(lambda _: self.reload_cases())
        teaching.events.changed.connect(self._store_changed)
        self.reload_collections()

    def _search_paused(self) -> None:
        self._search_pause.start()

    @property
    def store(self) -> TeachingStore:
        return self.teaching.store

    # -- collections ------------------------------------------------------------------------------

    def collection_id(self) -> int | None:
        data = self.collection_box.currentData()
        return int(data) if data is not None else None

    def ensure_collection(self) -> int:
        """The collection shown, made (named ``DEFAULT_COLLECTION``) when there is none yet."""
        found = self.collection_id()
        if found is None:
            found = self.store.create_collection(DEFAULT_COLLECTION).collection_id
            self._status(f"Made the collection {DEFAULT_COLLECTION!r}; rename it in the Collections pane.")
            self.show_collection(found)
        return found

    def reload_collections(self, select: int | None = None) -> None:
        current = select if select is not None else self.collection_id()
        collections = self.store.collections()
        if current is None and collections:  # the one worked on last
            current = max(collections, key=lambda c: c.updated).collection_id
        self.collection_box.blockSignals(True)
        self.collection_box.clear()
        for c in collections:
            self.collection_box.addItem(f"{c.name} ({c.case_count})", c.collection_id)
        self.collection_box.setCurrentIndex(max(0, self.collection_box.findData(current)))
        self.collection_box.blockSignals(False)
        self.reload_cases()

    def show_collection(self, collection_id: int) -> None:
        self.reload_collections(select=collection_id)

    def new_collection(self, name: str) -> int | None:
        try:
            made = self.store.create_collection(name)
        except TeachingError as exc:
            self._status(str(exc))
            return None
        self.show_collection(made.collection_id)
        return made.collection_id

    def ask_new_collection(self) -> int | None:
        name, ok = QInputDialog.getText(self, "New collection", "Name of the new collection:")
        return self.new_collection(name) if ok and name.strip() else None

    def _rename_collection(self) -> None:
        cid = self.collection_id()
        if cid is None:
            return
        name, ok = QInputDialog.getText(self, "Rename collection", "New name:", text=self.store.collection(cid).name)
        if ok and name.strip():
            self._guarded(lambda: self.store.update_collection(cid, name=name))

    def delete_collection(self) -> None:
        cid = self.collection_id()
        if cid is not None and self._guarded(lambda: self.store.delete_collection(cid)):
            self._status("Collection deleted (Edit > Undo brings it back).")

    # -- cases ------------------------------------------------------------------------------------

    def searching(self) -> bool:
        return any(b.text().strip() for b in (self.search_text, self.search_finding, self.search_tag))

    def reload_cases(self) -> None:
        cid = self.collection_id()
        chosen = self.current_case()
        if cid is None:
            cases: list[Case] = []
        elif self.searching():
            cases = self.store.search(self.search_text.text(), self.search_finding.text(), self.search_tag.text(), cid)
        else:
            cases = self.store.cases(cid)
        self.model.set_cases(cases, reorderable=not self.searching())
        if chosen is not None:
            self.select_case(chosen.case_id)
        if self.current_case() is None:
            self._case_chosen(None)

    def current_case(self) -> Case | None:
        index = self.list.currentIndex()
        return index.data(CASE_ROLE) if index.isValid() else None

    def select_case(self, case_id: str) -> None:
        row = self.model.row_of(case_id)
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))

    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.model.cases]

    def _case_chosen(self, case: Case | None) -> None:
        if case is not None and self.editor.case is not None and case.case_id == self.editor.case.case_id:
            self.editor.refresh(case)  # the list was reloaded: keep what is being typed
        else:
            self.editor.show_case(case)
        self._show_annotations(case)
        self.caseSelected.emit(case)

    def _save_fields(self, case_id: str, changes: dict[str, object]) -> Case | None:
        try:
            return self.store.update_teaching(case_id, **changes)
        except TeachingError as exc:
            self._status(f"Not saved: {exc}")
            return None

    def _move(self, case_id: str, index: int) -> None:
        self._guarded(lambda: self.store.move_case(case_id, index))

    def delete_selected_case(self) -> None:
        case = self.current_case()
        if case is not None and self._guarded(lambda: self.store.delete_case(case.case_id)):
            self._status("Case deleted (Edit > Undo brings it back).")

    # -- annotations ------------------------------------------------------------------------------

    def _show_annotations(self, case: Case | None) -> None:
        selected = self.selected_annotation()
        self.annotation_list.blockSignals(True)
        self.annotation_list.clear()
        for mark in case.annotations if case is not None else ():
            item = QListWidgetItem(mark.kind.capitalize() + (f": {mark.text}" if mark.text else "")
                                   + (f" (frame {mark.frame + 1})" if mark.frame else ""))
            item.setData(Qt.ItemDataRole.UserRole, mark.annotation_id)
            self.annotation_list.addItem(item)
            if selected is not None and mark.annotation_id == selected.annotation_id:
                self.annotation_list.setCurrentItem(item)
        self.annotation_list.blockSignals(False)

    def selected_annotation(self) -> Annotation | None:
        item = self.annotation_list.currentItem()
        case = self.current_case()
        if item is None or case is None:
            return None
        wanted = item.data(Qt.ItemDataRole.UserRole)
        return next((a for a in case.annotations if a.annotation_id == wanted), None)

    def delete_selected_annotation(self) -> None:
        mark = self.selected_annotation()
        if mark is not None and self._guarded(lambda: self.store.delete_annotation(mark.annotation_id)):
            self._status("Annotation deleted (Edit > Undo brings it back).")

    def _edit_annotation_text(self) -> None:
        from dataclasses import replace

        mark = self.selected_annotation()
        if mark is None:
            return
        text, ok = QInputDialog.getText(self, "Annotation text", "Text:", text=mark.text)
        if ok:
            self._guarded(lambda: self.store.update_annotation(replace(mark, text=text.strip())))

    # -- the store's changes ------------------------------------------------------------------------

    def _store_changed(self, change: Change) -> None:
        if change.kind.startswith("collection") or change.kind in ("case-added", "case-deleted", "case-restored"):
            self.reload_collections(select=change.collection_id if change.kind in (
                "collection-added", "collection-restored") else None)
            return
        if change.kind == "attempt-added" or change.collection_id != self.collection_id():
            return
        self.reload_cases()
        case = self.current_case()
        if case is not None and case.case_id == change.case_id:
            self._show_annotations(case)

    def _guarded(self, edit: Callable[[], object]) -> bool:
        try:
            edit()
        except TeachingError as exc:
            self._status(str(exc))
            return False
        return True


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget, 1 if isinstance(widget, (QLineEdit, QComboBox)) else 0)
    return row
