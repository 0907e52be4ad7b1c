"""PySide6's per-import source check, answered from the file's bytes (cxrviewer.gui.pyside_imports)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cxrviewer.gui  # noqa: F401 - installs the check
from cxrviewer.gui.pyside_imports import read_source_bytes_for_feature_check


def _feature():
    return sys.modules["shibokensupport.feature"]


def test_installed_once_by_the_gui_package():
    check = _feature()._mod_uses_pyside
    assert hasattr(check, "upstream")
    assert read_source_bytes_for_feature_check() is True
    assert _feature()._mod_uses_pyside is check  # installing again does not wrap twice


def test_same_answer_as_pyside_for_every_loaded_module():
    import numpy  # noqa: F401 - extension modules and plain sources
    import pyqtgraph  # noqa: F401 - modules that do mention PySide6

    import cxrviewer.gui.main_window  # noqa: F401

    check = _feature()._mod_uses_pyside
    modules = [m for m in list(sys.modules.values()) if m is not None]

    def answer(f, module):
        try:
            return f(module)
        except Exception as exc:  # noqa: BLE001 - a module whose attribute access raises
            return type(exc)

    differ = [m.__name__ for m in modules if answer(check, m) != answer(check.upstream, m)]
    mentions = [m.__name__ for m in modules if answer(check, m) is True]
    assert len(modules) > 300
    assert differ == []
    assert "pyqtgraph.Qt" in mentions and "cxrviewer.gui.main_window" in mentions
    assert "numpy" not in mentions


PROBE = """
import linecache, sys
from pathlib import Path
import cxrviewer.gui  # installs the check, as the app does before its window
folder, name = Path(sys.argv[1]), sys.argv[2]
sys.path.insert(0, str(folder))
__import__(name)  # the statement's path: importlib.import_module bypasses PySide's hook
feature = sys.modules["shibokensupport.feature"]
print(feature.pyside_feature_dict[name], str(folder / f"{name}.py") in linecache.cache)
"""


@pytest.mark.parametrize(("body", "expected"), [("import json\n", -1), ("from PySide6 import QtCore\n", 0)])
def test_a_new_import_is_classified_without_reading_it_through_linecache(tmp_path: Path, body, expected):
    """In a fresh interpreter, as at the app's start: PySide's hooks are process-wide, and some
    Qt use earlier in a test session swaps its import hook for its lazy one (then nothing is
    classified at all), which made this test depend on the order the suite ran in."""
    import subprocess

    name = f"cxr_probe_{expected + 1}"
    (tmp_path / f"{name}.py").write_text(f"# probe\n{body}")
    run = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), name], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [str(expected), "False"]
