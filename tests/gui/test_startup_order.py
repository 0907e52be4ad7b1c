"""Start-up work (opening the case library, a path from the command line) waits for the first paint."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QEvent, QObject


class PaintLog(QObject):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and "paint" not in self.log:
            self.log.append("paint")
        return False


def test_start_up_work_runs_after_the_first_paint_and_not_on_a_closing_window(qtbot):
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.main_window import MainWindow
    from cxrviewer.settings import Settings

    create_app()
    window = MainWindow(Settings())
    window.persist_settings = False
    qtbot.addWidget(window)
    log: list[str] = []
    probe = PaintLog(log)
    window.installEventFilter(probe)
    window.after_first_paint(lambda: log.append("work"))
    assert log == []
    window.show()
    qtbot.waitUntil(lambda: "work" in log, timeout=5000)
    assert log == ["paint", "work"]

    window.after_first_paint(lambda: log.append("later"))  # once painted: on the next turn
    assert log[-1] == "work"
    qtbot.waitUntil(lambda: log[-1] == "later", timeout=5000)

    window.after_first_paint(lambda: log.append("too late"))
    window.close()
    qtbot.wait(50)
    assert "too late" not in log


def test_the_entry_point_skips_multiprocessing_unless_frozen():
    code = "import sys, cxrviewer.app; print('multiprocessing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
