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


def _study_with_a_damaged_name(folder: Path) -> Path:
    """One film whose PatientName element is stored with the VR "UI" instead of "PN" (the two
    bytes patched in the written file): pydicom then warns "Invalid value for VR UI:
    'Zyxwvut^Quentin'" on every read, the damaged-file warning that carries a name."""
    from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom

    path = write_dicom(folder / "pa.dcm", chest_phantom(200, 180), study=SyntheticStudy(patient_name="Zyxwvut^Quentin"))
    data = path.read_bytes()
    assert data.count(b"\x10\x00\x10\x00PN") == 1
    path.write_bytes(data.replace(b"\x10\x00\x10\x00PN", b"\x10\x00\x10\x00UI"))
    return folder


def test_patient_data_stays_out_of_the_log(tmp_path: Path):
    """pydicom's warning put the damaged name in cxrviewer.log, and the start's log line the whole
    command line: the study folder (named after the patient, as exported folders often are)."""
    study = _study_with_a_damaged_name(tmp_path / "Zyxwvut_Quentin_MRN4711")
    home = tmp_path / "home"
    env = dict(os.environ, CXRVIEWER_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "cxrviewer", str(study), "--screenshot", str(tmp_path / "shot.png"),
                           "--timeout", "60"], capture_output=True, text=True, env=env, timeout=150)
    assert done.returncode == 0, done.stderr
    log = (home / "log" / "cxrviewer.log").read_bytes()
    for secret in (b"Zyxwvut", b"Quentin", b"MRN4711"):
        assert secret not in log
    assert b"pydicom: Invalid value for VR UI: <value>" in log  # the warning came, without its value
    assert b"started: <path> --screenshot <file> --timeout 60.0" in log
    assert "Zyxwvut" not in done.stderr  # nor on stderr, where a desktop session keeps it


def test_faiss_loader_attempts_are_not_written_to_the_log(tmp_path: Path):
    """faiss logs each CPU build it tries at INFO ("Could not load library with AVX512 support
    due to: ModuleNotFoundError(...)"), which reads as an error in a log attached to a bug report."""
    code = ("from cxrviewer.gui.launch import start_logging\n"
            "start_logging(crashes_to_stderr=True)\n"
            "import faiss\n")
    env = dict(os.environ, CXRVIEWER_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (tmp_path / "log" / "cxrviewer.log").read_text(encoding="utf-8").splitlines()
             if "faiss" in line]
    assert any("INFO" in line and "Successfully loaded faiss" in line for line in lines), lines
    assert [line for line in lines if "Successfully loaded" not in line] == []
    assert "Could not load library" not in done.stderr
