"""The main window's dialogs and small commands: opening a folder or file, saving the view,
training and importing a model, the shortcuts list and About."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cxrviewer import __version__

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog

    from cxrviewer.gui.main_window import MainWindow


def about_text(window: MainWindow) -> str:
    """Version, purpose, and the models whose output this window has shown, with their licences."""
    models = dict(window.explainer.models_shown)
    outcome = window.session.search.outcome
    if outcome is not None and outcome.licence:
        models.setdefault(outcome.model, f"licence: {outcome.licence}")
    lines = [f"cxrviewer {__version__}", "Offline chest X-ray viewer and case search for teaching.",
             "Not for diagnostic use."]
    if models:
        lines += ["", "Models whose output this window shows:"]
        lines += [f"• {name}: {text}" for name, text in sorted(models.items())]
    return "\n".join(lines)


class WindowDialogs:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.shortcuts_dialog: QDialog | None = None
        self.training_dialog: QDialog | None = None

    def _start_folder(self) -> str:
        return self.window.session.settings.last_folder or str(Path.home())

    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self.window, "Open study folder", self._start_folder())
        if folder:
            self.window.session.open_path(folder)

    def choose_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", self._start_folder(),
                                              "Images (*.dcm *.dicom *.png *.jpg *.jpeg DICOMDIR);;All files (*)")
        if path:
            self.window.session.open_path(path)

    def save_view_png(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.window, "Save view as PNG",
                                              str(Path(self._start_folder()) / "view.png"), "PNG (*.png)")
        if path:
            self.window.viewer.graphics.grab().save(path, "PNG")

    def show_training(self) -> None:
        from cxrviewer.gui.training_dialog import TrainingDialog

        library = self.window.session.search.library
        self.training_dialog = TrainingDialog(self.window, library.path if library is not None else "")
        self.training_dialog.show()

    def import_model(self) -> None:
        from cxrviewer.gui.model_import import import_model

        import_model(self.window)

    def focus_tag_filter(self) -> None:
        self.window.tags_dock.show()
        self.window.tags_dock.raise_()
        self.window.tags.filter.setFocus()

    def focus_search_box(self) -> None:
        self.window.results_dock.raise_()
        self.window.results.query.setFocus()
        self.window.results.query.selectAll()

    def show_shortcuts(self) -> None:
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

        table_rows = self.window.shortcut_table
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(table_rows), 3)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        for row, values in enumerate(table_rows):
            for col, value in enumerate(values):
                table.setItem(row, col, QTableWidgetItem(value))
        table.resizeColumnsToContents()
        table.verticalHeader().hide()
        extra = QLabel("Mouse: left-drag pans (or draws with the active tool), wheel zooms, right-drag adjusts "
                       "window (horizontal) and level (vertical).")
        extra.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(extra)
        layout.addWidget(buttons)
        dialog.resize(560, 640)
        dialog.show()
        self.shortcuts_dialog = dialog

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self.window, "About cxrviewer", about_text(self.window))
