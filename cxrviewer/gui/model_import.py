"""Import a model from the window: pick a weights file or a model folder, say whether it can be
trusted when it is a pickle, and run ``cxrviewer models import`` in a child process (QProcess, so
the window stays responsive and an untrusted file never runs inside it; see
services.model_import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QProcess
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

if TYPE_CHECKING:
    from cxrviewer.gui.main_window import MainWindow

TRUST_TEXT = (
    "{path}\n\nThis file is a Python pickle. Loading a pickle can run any code it contains, so "
    "import it only if you got it from its publisher (for example torchxrayvision's download "
    "address, or the CheXzero authors' release) or from someone you trust.\n\n"
    "cxrviewer unpickles it once, in a separate process, converts the weights to safetensors and "
    "never unpickles them again. Import it?")


def choose_source(window: MainWindow) -> str:
    """A weights file, or (when the user picks none) a model folder; "" when cancelled."""
    path, _ = QFileDialog.getOpenFileName(
        window, "Import a model: its weights file (Cancel to pick a model folder instead)", "",
        "Model weights (*.pt *.pth *.bin *.safetensors);;All files (*)")
    if path:
        return path
    return QFileDialog.getExistingDirectory(window, "Import a model: its folder")


def import_model(window: MainWindow, path: str = "", name: str | None = None) -> QProcess | None:
    """Ask, then start the import; None when the user cancelled. ``name`` None asks for one."""
    from cxrviewer.services import model_import

    path = path or choose_source(window)
    if not path:
        return None
    trust = model_import.needs_trust(path)
    if trust and QMessageBox.question(window, "Import a pickled model?", TRUST_TEXT.format(path=path)) \
            != QMessageBox.StandardButton.Yes:
        window.statusBar().showMessage("Import cancelled: the file was not trusted.", 8000)
        return None
    if name is None:
        name, ok = QInputDialog.getText(window, "Import a model", "Name to select it by (empty: from the file):")
        if not ok:
            return None
    program, *arguments = model_import.command(path, name.strip(), trust)
    process = QProcess(window)
    process.finished.connect(lambda code, _status: _finished(window, process, path, code))
    window.statusBar().showMessage(f"Importing {path}…")
    process.start(program, arguments)
    window.import_process = process
    return process


def _finished(window: MainWindow, process: QProcess, path: str, code: int) -> None:
    from cxrviewer.services import model_import

    stdout = bytes(process.readAllStandardOutput().data()).decode("utf-8", "replace")
    stderr = bytes(process.readAllStandardError().data()).decode("utf-8", "replace")
    result = model_import.outcome(code, stdout, stderr, path)
    process.deleteLater()
    if not result.ok:
        window.statusBar().showMessage(f"Import failed: {result.message}")
        return
    window.statusBar().showMessage(f"Model {result.name} imported: its findings show on the films it was "
                                   "made for.", 10000)
    window.explainer.film_opened()  # the findings panel reads the film again, now with the new model
