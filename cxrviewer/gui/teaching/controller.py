"""The teaching files' controller: what the Teaching menu does, the Collections dock, and the
annotations of the case on screen drawn on the window's viewer.

The case on screen is the collection case whose film the viewer shows (opened from the pane,
just added, or recognised by its film); annotations drawn with the tools go to it, saved as they
are drawn. Slow work (copying a film in, reading a library, exports) runs in the session's
teaching worker (``services.session.teaching``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from cxrviewer.gui.teaching.annotation_layer import AnnotationLayer, AnnotationTools
from cxrviewer.gui.teaching.collections_pane import CollectionsPane
from cxrviewer.teaching.model import Annotation, Case, TeachingError

if TYPE_CHECKING:
    from cxrviewer.services.study import OpenedImage
    from cxrviewer.teaching.store import Change

TOOL_HINTS = {
    "arrow": "Drag from the tail to the head of the arrow.", "line": "Drag to draw a line.",
    "ellipse": "Drag across the region to ring it.", "freehand": "Drag around the region to outline it.",
    "text": "Click where the label goes.",
}
EXPORT_FILTERS = {"html": "HTML handout (*.html)", "pptx": "PowerPoint deck (*.pptx)",
                  "zip": "Teaching archive (*.zip)"}


class TeachingController(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.teaching = window.session.teaching
        self.case_id = ""  # the case whose film is on screen
        self._opening: tuple[str, str] | None = None  # (case id, film path) asked to open
        self._copied: dict[str, str] = {}  # study-folder film -> the case its copy went to
        self.session_window: Any = None
        self.last_session_id = ""
        self.pane = CollectionsPane(self.teaching, self.status)
        self.dock = window._dock("Collections", self.pane, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.tabifyDockWidget(window.browser_dock, self.dock)
        self.dock.raise_()
        viewer = window.viewer
        self.layer = AnnotationLayer(viewer)
        self.tools = AnnotationTools(self.layer, self.annotation_drawn, self._ask_text)
        film = window.session.film.events
        film.changed.connect(self._film_changed)
        film.opened.connect(self._film_opened)
        film.cleared.connect(lambda: self._film_changed(""))
        self.teaching.events.changed.connect(self._store_changed)
        self.teaching.events.message.connect(self.status)
        self.pane.caseOpened.connect(self.open_case)
        self.pane.annotationSelected.connect(self.layer.select)
        self.pane.sessionRequested.connect(lambda: self.start_session("unknown"))
        if window.session.film.path:
            self._film_changed(window.session.film.path)
        self._update_undo()

    @property
    def store(self) -> Any:
        return self.teaching.store

    def status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def show_pane(self) -> None:
        self.dock.show()
        self.dock.raise_()

    # -- adding cases -----------------------------------------------------------------------------

    def add_current(self) -> None:
        """Add the film on screen (with its view as the key image) to the collection shown."""
        self.show_pane()
        film = self.window.session.film
        film.note_presentation(self._presentation())
        path = film.path or ""
        if self.teaching.add_film_on_screen(self._collection(), lambda cases: self._added(cases, path)):
            self.status("Adding the film on screen…")

    def add_selected_result(self) -> None:
        hit = self.window.results.selected_hit()
        if hit is None:
            self.status("Select a result in the gallery first.")
            return
        self._add_hits([hit])

    def add_all_results(self) -> None:
        outcome = self.window.session.search.outcome
        if outcome is None or not outcome.hits:
            self.status("No search results to add.")
            return
        self._add_hits(list(outcome.hits))

    def _add_hits(self, hits: list[Any]) -> None:
        library = self.window.session.search.library
        if library is None:
            return
        self.show_pane()
        self.teaching.add_library_cases(self._collection(), library.path, [h.case.case_id for h in hits], self._added)
        self.status(f"Adding {len(hits)} film{'s' if len(hits) != 1 else ''}…")

    def gallery_menu(self, pos: Any) -> None:
        gallery = self.window.results.gallery
        index = gallery.indexAt(pos)
        menu = QMenu(gallery)
        if index.isValid():
            gallery.setCurrentIndex(index)
            menu.addAction("Add this film to the collection", self.add_selected_result)
        menu.addAction("Add all results to the collection", self.add_all_results)
        menu.popup(gallery.viewport().mapToGlobal(pos))

    def _collection(self) -> int:
        return self.pane.ensure_collection()

    def _added(self, cases: list[Case], from_path: str = "") -> None:
        if not cases:
            return
        name = self.store.collection(cases[0].collection_id).name
        self.status(f"Added {len(cases)} case{'s' if len(cases) != 1 else ''} to {name}.")
        self.pane.show_collection(cases[0].collection_id)
        self.pane.select_case(cases[-1].case_id)
        if from_path and cases[0].film.source == "file":
            self._copied[os.path.realpath(from_path)] = cases[0].case_id
        path = self.window.session.film.path
        shown = next((c for c in cases if path and self._is_film_of(c, path)), None)
        if shown is not None:
            self._set_case(shown.case_id)

    # -- the case on screen -----------------------------------------------------------------------

    def open_case(self, case: Case | None) -> None:
        """Show a case's film in the viewer as its key image was saved."""
        if case is not None:
            self.teaching.film_path(case, lambda path: self._open_film(case, path))

    def _open_film(self, case: Case, path: str) -> None:
        self._opening = (case.case_id, os.path.realpath(path))
        if self.window.session.film.path and os.path.realpath(self.window.session.film.path) == self._opening[1] \
                and self.window.session.film.opened is not None:
            self._film_opened(self.window.session.film.opened)
        else:
            self.window.session.open_path(path)

    def _film_changed(self, path: str) -> None:
        if self._opening is not None and path and os.path.realpath(path) == self._opening[1]:
            return  # the case being opened: it becomes the case on screen once shown
        self._set_case(self._case_for_path(path) if path else "")

    def _film_opened(self, opened: OpenedImage) -> None:
        path = opened.image.header.path  # type: ignore[attr-defined]
        if self._opening is None or os.path.realpath(path) != self._opening[1]:
            return
        case_id, self._opening = self._opening[0], None
        try:
            case = self.store.case(case_id)
        except TeachingError as exc:
            self.status(str(exc))
            return
        self._set_case(case_id)
        self.pane.select_case(case_id)
        self.window.session.film.show_presentation(case.presentation)

    def _case_for_path(self, path: str) -> str:
        cid = self.pane.collection_id()
        cases = self.store.cases(cid) if cid is not None else []
        return next((c.case_id for c in cases if self._is_film_of(c, path)), "")

    def _is_film_of(self, case: Case, path: str) -> bool:
        if self._copied.get(os.path.realpath(path)) == case.case_id:
            return True
        image = case.film.image if case.film.source == "library" else str(self.store.films_dir / case.film.image)
        return os.path.realpath(image) == os.path.realpath(path)

    def _set_case(self, case_id: str) -> None:
        self.case_id = case_id
        self._refresh_layer()

    def _refresh_layer(self) -> None:
        annotations: tuple[Annotation, ...] = ()
        if self.case_id:
            try:
                annotations = self.store.case(self.case_id).annotations
            except TeachingError:
                self.case_id = ""
        self.layer.set_annotations(annotations)

    def save_key_image(self) -> None:
        """Save how the viewer shows the film (window, zoom and pan, turn, frame) as the key image."""
        presentation = self._presentation()
        if not self.case_id or presentation is None:
            self.status("The film on screen is not a collection case: add it first (Ctrl+D).")
            return
        self.store.set_presentation(self.case_id, presentation)
        self.status("Key image view saved.")

    def _presentation(self) -> Any:
        from cxrviewer.gui.viewer_presentation import presentation_of

        return presentation_of(self.window.viewer)

    # -- annotations ------------------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.window.viewer.set_tool(tool)
        action = self.window.actions_by_name.get(f"tool_{tool}")
        if action is not None and not action.isChecked():
            action.setChecked(True)
        where = "" if self.case_id else " (annotations belong to a case: add the film first, Ctrl+D)"
        self.status(TOOL_HINTS[tool] + where)

    def annotation_drawn(self, annotation: Annotation) -> None:
        if not self.case_id:
            self.status("Add the film to a collection first (Ctrl+D): annotations are saved with its case.")
            return
        try:
            self.store.add_annotation(self.case_id, annotation)
        except TeachingError as exc:
            self.status(f"Annotation not saved: {exc}")

    def _ask_text(self, title: str) -> str:
        text, ok = QInputDialog.getText(self.window, title, "Text:")
        return text if ok else ""

    # -- undo and the store's changes ---------------------------------------------------------------

    def undo(self) -> None:
        change = self.store.undo_delete()
        self.status("Restored." if change is not None else "Nothing to undo.")

    def _update_undo(self) -> None:
        action = getattr(self.window, "undo_action", None)
        if action is not None:
            label = self.store.undo_label()
            action.setText(label or "&Undo")
            action.setEnabled(bool(label))

    def _store_changed(self, change: Change) -> None:
        self._update_undo()
        if change.case_id and change.case_id == self.case_id:
            self._refresh_layer()
        elif change.kind in ("case-added", "case-restored", "cases-reordered") and not self.case_id:
            self._film_changed(self.window.session.film.path or "")

    # -- sessions, exports, imports ------------------------------------------------------------------

    def start_session(self, mode: str) -> None:
        from cxrviewer.gui.teaching.session_window import SessionWindow
        from cxrviewer.teaching.session import start_session

        ids = self.pane.case_ids()
        if not ids:
            self.status("The collection has no cases to present.")
            return
        shuffle = getattr(self.window, "teaching_shuffle_action", None)
        state = start_session(ids, mode, shuffle=bool(shuffle is not None and shuffle.isChecked()))
        self.last_session_id = state.session_id
        if self.session_window is not None and not self.session_window.closed:
            self.session_window.close()
        self.session_window = SessionWindow(self.window.session, state, self.window)
        self.session_window.present()

    def export(self, fmt: str) -> None:
        cid = self.pane.collection_id()
        if cid is None:
            self.status("No collection to export.")
            return
        name = self.store.collection(cid).name
        out, _ = QFileDialog.getSaveFileName(self.window, f"Export {name}", f"{name}.{fmt}", EXPORT_FILTERS[fmt])
        if out:
            self.export_to(fmt, out)

    def export_to(self, fmt: str, out: str) -> None:
        """Export the collection shown (anonymised) in the teaching worker."""
        cid = self.pane.collection_id()
        if cid is not None:
            self.status(f"Exporting to {out}…")
            self.teaching.export(cid, fmt, out, self._exported,
                                 on_progress=lambda done, total, text: self.status(text + "…"))

    def _exported(self, result: Any) -> None:
        warned = f" Warnings: {'; '.join(result.warnings)}" if result.warnings else ""
        self.status(f"Exported {result.cases} cases (anonymised) to {result.path}.{warned}")

    def import_archive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a teaching archive", "", EXPORT_FILTERS["zip"])
        if path:
            self.import_from(path)

    def import_from(self, path: str) -> None:
        self.status(f"Importing {path}…")
        self.teaching.import_archive(path, self._imported)

    def _imported(self, result: tuple[int, list[str]]) -> None:
        cid, cases = result
        self.pane.show_collection(cid)
        self.show_pane()
        self.status(f"Imported {self.store.collection(cid).name}: {len(cases)} cases.")

    def export_results(self) -> None:
        out, _ = QFileDialog.getSaveFileName(self.window, "Export quiz results", "quiz-results.csv", "CSV (*.csv)")
        if out:
            self.export_results_to(out)

    def export_results_to(self, out: str) -> None:
        """The last session's answers (or, before any session, the collection's) as CSV."""
        cid = None if self.last_session_id else self.pane.collection_id()
        self.teaching.export_results(out, self.last_session_id, cid,
                                     lambda path: self.status(f"Results written to {path}."))
