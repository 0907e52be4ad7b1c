"""Starts that used to fail, hang or abort: a damaged settings file, a start-up error offscreen,
no display, and missing system libraries for Qt's X11 plugin."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _no_core_file() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort before a fix leaves no core behind


def run_cxrviewer(args: list[str], home: Path, timeout: float = 120, code: str | None = None,
                  **env_changes: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CXRVIEWER_HOME=str(home))
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "cxrviewer", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=ROOT, preexec_fn=_no_core_file)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"cxrviewer {' '.join(args)} still running after {timeout} s (a dialog nobody can close?): "
                    f"{exc.stderr}")


BAD_SETTINGS = {
    "UTF-16 text": json.dumps({"anonymise": True}).encode("utf-16"),  # UnicodeDecodeError
    "a list where a list of folders belongs": json.dumps({"recent_folders": 5}).encode(),  # TypeError
}


@pytest.mark.parametrize("kind", list(BAD_SETTINGS))
def test_a_damaged_settings_file_does_not_stop_a_screenshot_start(kind: str, tmp_path: Path) -> None:
    """It stopped every start ("could not start: UnicodeDecodeError / TypeError"), and in
    --screenshot mode the process then waited forever in the error dialog."""
    home = tmp_path / "home"
    settings_file = home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_bytes(BAD_SETTINGS[kind])
    shot = tmp_path / "shot.png"
    done = run_cxrviewer(["--screenshot", str(shot), "--timeout", "60"], home, timeout=150)
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 0
    aside = settings_file.with_suffix(".corrupt.json")
    assert "reset to their defaults" in done.stderr and f"the old file is now {aside}" in done.stderr
    assert aside.read_bytes() == BAD_SETTINGS[kind]
    assert f"the old file is now {aside}" in (home / "log" / "cxrviewer.log").read_text(encoding="utf-8")


def test_a_start_up_error_offscreen_exits_instead_of_waiting_in_a_dialog(tmp_path: Path) -> None:
    code = ("import sys\n"
            "from cxrviewer.gui import main_window\n"
            "def broken(self, *args, **kwargs):\n"
            "    raise RuntimeError('the window could not be built')\n"
            "main_window.MainWindow.__init__ = broken\n"
            "from cxrviewer.app import main\n"
            "sys.exit(main(['--screenshot', sys.argv[1]]))\n")
    done = run_cxrviewer([str(tmp_path / "shot.png")], tmp_path / "home", timeout=90, code=code)
    assert done.returncode == 1
    assert "could not start: RuntimeError: the window could not be built" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")
def test_no_display_gives_a_message_and_exit_1_not_an_abort(tmp_path: Path) -> None:
    """Qt aborted (exit 134) with "could not connect to display" or, on a minimal system,
    "xcb-cursor0 is needed"; on this machine whichever comes first is the one reported."""
    home = tmp_path / "home"
    done = run_cxrviewer([], home, timeout=90, QT_QPA_PLATFORM=None, DISPLAY=None, WAYLAND_DISPLAY=None,
                         XDG_SESSION_TYPE=None)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "cxrviewer cannot open its window" in done.stderr
    assert "QT_QPA_PLATFORM=offscreen cxrviewer --screenshot" in done.stderr
    assert "cannot open its window" in (home / "log" / "cxrviewer.log").read_text(encoding="utf-8")


@pytest.fixture
def plugin_missing_a_library(tmp_path: Path) -> Path:
    """A copy of the installed xcb plugin whose NEEDED entry libxcb-cursor.so.0 is renamed to
    libxcb-cursxr.so.0, a library no system has: loading it fails exactly as on a machine without
    libxcb-cursor0 (the simulation is the renamed entry; the loader, ldd and Qt are real). Its
    folder mirrors PySide6's (plugins/platforms beside lib), so its RUNPATH finds the Qt libraries."""
    from cxrviewer.gui import platform_check

    real = platform_check.xcb_plugin({})
    if real is None:
        pytest.skip("this PySide6 has no xcb platform plugin")
    data = real.read_bytes()
    if data.count(b"\0libxcb-cursor.so.0\0") != 1:
        pytest.skip("this xcb plugin does not name libxcb-cursor.so.0 once (Qt older than 6.5?)")
    folder = tmp_path / "qt" / "plugins" / "platforms"
    folder.mkdir(parents=True)
    copy = folder / platform_check.PLUGIN_FILE
    copy.write_bytes(data.replace(b"\0libxcb-cursor.so.0\0", b"\0libxcb-cursxr.so.0\0"))
    (tmp_path / "qt" / "lib").symlink_to(real.parents[2] / "lib")
    return copy


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")
def test_a_missing_library_is_named_with_its_package(plugin_missing_a_library: Path) -> None:
    from cxrviewer.gui import platform_check

    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0",
           "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library.parent)}
    problem = platform_check.platform_problem(env)
    assert problem is not None
    assert "libxcb-cursxr.so.0" in problem.splitlines()[0]
    assert "QT_QPA_PLATFORM=offscreen" in problem and "cxrviewer --help" in problem
    if shutil.which("ldd"):  # every missing library, not only the first the loader met
        listed = platform_check.missing_libraries(plugin_missing_a_library)
        assert "libxcb-cursxr.so.0" in listed
        assert all(name in problem for name in listed)
    # Offscreen, wayland or another platform asked for: nothing is loaded or checked.
    for other in ("offscreen", "wayland", "minimal"):
        assert platform_check.platform_problem({**env, "QT_QPA_PLATFORM": other}) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")
def test_a_plugin_that_loaded_is_not_loaded_again_until_something_changes(plugin_missing_a_library: Path) -> None:
    """A good start reads a marker instead of loading the plugin (5-10 ms); the marker is keyed
    by the plugin file and the linker's cache, so a changed library is checked again. Here a
    marker is planted for the broken copy to show that it is trusted, then invalidated."""
    from cxrviewer import paths
    from cxrviewer.gui import platform_check

    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0",
           "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library.parent)}
    marker = paths.cache_dir() / "qt-xcb-plugin-loads"
    assert platform_check.platform_problem(env) is not None
    assert not marker.exists()  # a failure is never remembered
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(platform_check._loaded_before_key(plugin_missing_a_library, env), encoding="utf-8")
    assert platform_check.platform_problem(env) is None
    plugin_missing_a_library.write_bytes(plugin_missing_a_library.read_bytes() + b"\0")  # reinstalled
    assert platform_check.platform_problem(env) is not None


def test_missing_libraries_are_named_with_debian_packages() -> None:
    from cxrviewer.gui import platform_check

    hint = platform_check.package_hint(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                                        "libsomething-else.so.2"])
    assert hint == "On Debian or Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"


def test_the_readme_names_every_package_the_check_knows() -> None:
    from cxrviewer.gui import platform_check

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start"):readme.index("## Using it")]
    missing = sorted(p for p in set(platform_check.DEBIAN_PACKAGES.values()) if p not in quick_start)
    assert not missing, f"README's quick start does not name {missing}"


def test_a_pyside6_import_error_names_the_package(caplog: pytest.LogCaptureFixture) -> None:
    """On a bare system PySide6's own import fails first (libEGL.so.1 even offscreen)."""
    from cxrviewer.gui.launch import _startup_failed

    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    assert _startup_failed(error) == 1
    assert "sudo apt install libegl1" in caplog.text


def test_the_settings_notice_stays_in_the_status_bar_without_widening_the_window(main_window, qtbot) -> None:
    from PySide6.QtWidgets import QLabel

    from cxrviewer.gui.launch import show_settings_notice

    notice = "Settings reset to their defaults (the file was not UTF-8 text); the old file is now " + "/x" * 400
    show_settings_notice(main_window, notice)
    label = main_window.statusBar().findChild(QLabel, "settings_notice")
    qtbot.waitUntil(label.isVisible, timeout=2000)
    assert label.text() == notice and main_window.minimumSizeHint().width() < 1000
    main_window.statusBar().showMessage("12 results in 40 ms", 50)  # a search's message covers it a while
    qtbot.waitUntil(lambda: not main_window.statusBar().currentMessage(), timeout=2000)
    assert label.isVisible()
