"""File > Build case library: pick a downloaded dataset and build a library from it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

DATASETS = (
    ("chexpert", "CheXpert v1.0 / -small"),
    ("mimic", "MIMIC-CXR-JPG 2.x"),
    ("openi", "Open-i / Indiana University"),
    ("nih", "NIH ChestX-ray14"),
    ("folder", "Any DICOM / PNG / JPEG folder"),
    ("demo", "Synthetic demo dataset"),
)


class BuildLibraryDialog(QDialog):
    """Collects what a build needs; the build itself runs in the search worker."""

    def __init__(self, parent: QWidget | None = None, start_folder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Build a case library")
        self.dataset = QComboBox()
        for key, text in DATASETS:
            self.dataset.addItem(text, key)
        self.root = QLineEdit(start_folder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        root_row = QHBoxLayout()
        root_row.addWidget(self.root, 1)
        root_row.addWidget(browse)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. chexpert-small")
        self.encoder = QComboBox()
        self.encoder.addItem("Findings only (no model)", "")
        for name in _models_with_weights():
            self.encoder.addItem(f"Model: {name}", name)
        note = QLabel("The build runs in the background with progress; an interrupted build "
                      "resumes when started again with the same name.")
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Dataset", self.dataset)
        form.addRow("Folder", root_row)
        form.addRow("Library name", self.name)
        form.addRow("Embedding", self.encoder)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Build")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.root.text() or str(Path.home()))
        if folder:
            self.root.setText(folder)
            if not self.name.text():
                self.name.setText(Path(folder).name.lower())

    def values(self) -> tuple[str, str, str, str]:
        """(dataset, root, name, encoder)."""
        name = self.name.text().strip() or Path(self.root.text()).name.lower() or self.dataset.currentData()
        return self.dataset.currentData(), self.root.text().strip(), name, self.encoder.currentData() or ""


def _models_with_weights() -> list[str]:
    from cxrviewer.models.registry import all_specs, weights_present

    try:
        return [name for name, spec in all_specs().items() if spec.has_image and weights_present(spec)]
    except Exception:  # noqa: BLE001 - a broken model list must not stop the dialog
        return []
