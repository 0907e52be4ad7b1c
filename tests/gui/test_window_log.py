"""The window's log file and crash stacks (cxrviewer.gui.launch.start_logging)."""

from __future__ import annotations

import faulthandler
import logging
import os
import subprocess
import sys
from pathlib import Path


def test_the_window_logs_to_a_file_in_the_log_folder(isolated_user_dirs: Path, monkeypatch):
    from cxrviewer.gui import launch
    from cxrviewer.gui.launch import start_logging

    earlier = isolated_user_dirs / "log" / "cxrviewer.log"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("an earlier run's lines\n" * 10, encoding="utf-8")
    monkeypatch.setattr(launch, "LOG_ROTATE_BYTES", 100)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        log_file = start_logging(crashes_to_stderr=True)
        logging.getLogger("cxrviewer.gui.some_pane").error("could not draw the overlay")
        logging.getLogger("cxrviewer.services").info("library opened")
        for handler in root.handlers:
            handler.flush()
        assert log_file == isolated_user_dirs / "log" / "cxrviewer.log"
        text = log_file.read_text(encoding="utf-8")
        assert "ERROR" in text and "could not draw the overlay" in text
        assert "library opened" in text
        assert "earlier run" not in text  # too long: set aside, one run kept
        assert "earlier run" in (isolated_user_dirs / "log" / "cxrviewer.1.log").read_text(encoding="utf-8")
        assert faulthandler.is_enabled()
    finally:
        for handler in root.handlers[len(handlers):]:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        faulthandler.enable(sys.stderr)


def test_a_fatal_crash_leaves_its_python_stack_in_crash_log(tmp_path: Path):
    code = ("from cxrviewer.gui.launch import start_logging\n"
            "start_logging()\n"
            "def draw_the_overlay():\n"
            "    import faulthandler; faulthandler._sigsegv()\n"
            "draw_the_overlay()\n")
    env = dict(os.environ, CXRVIEWER_HOME=str(tmp_path))
    env.pop("PYTHONFAULTHANDLER", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    crash = (tmp_path / "log" / "crash.log").read_text(encoding="utf-8")
    assert "Fatal Python error" in crash and "draw_the_overlay" in crash


def test_an_unwritable_log_folder_leaves_messages_on_stderr(tmp_path: Path, monkeypatch):
    from cxrviewer.gui.launch import start_logging

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setenv("CXRVIEWER_LOG_DIR", str(blocker / "log"))
    handlers = list(logging.getLogger().handlers)
    assert start_logging() is None
    assert logging.getLogger().handlers == handlers
