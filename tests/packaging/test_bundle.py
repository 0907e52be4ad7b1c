"""The desktop bundle (PyInstaller, one folder): builds with ``packaging/build.py`` and passes its own
``--self-test`` outside any Python environment. Slow (a clean venv with torch, then PyInstaller:
tens of minutes), so it runs on demand: ``pytest -m slow``.

``CXRVIEWER_REUSE_BUNDLE=1`` tests an existing ``packaging/dist/cxrviewer`` instead of building.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "packaging" / "dist" / "cxrviewer"
EXECUTABLE = DIST / ("cxrviewer.exe" if os.name == "nt" else "cxrviewer")


@pytest.fixture(scope="module")
def bundle() -> Path:
    if os.environ.get("CXRVIEWER_REUSE_BUNDLE") == "1" and EXECUTABLE.exists():
        return DIST
    subprocess.run([sys.executable, str(REPO / "packaging" / "build.py")], check=True, timeout=3 * 3600)
    assert EXECUTABLE.exists()
    return DIST


def bare_env(home: Path) -> dict[str, str]:
    """No virtual environment, no PYTHONPATH: only what a workstation without Python has."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "CXRVIEWER_HOME": str(home / "cxrviewer"),
           "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
    if os.name == "nt":
        system_root = os.environ.get("SystemRoot", r"C:\Windows")  # noqa: SIM112 - Windows spells it so
        env.update(PATH=system_root + r"\System32", SystemRoot=system_root)
    return env


@pytest.mark.timeout(4 * 3600)
def test_bundle_self_test_passes(bundle, tmp_path):
    done = subprocess.run([str(EXECUTABLE), "--self-test"], capture_output=True, text=True,
                          env=bare_env(tmp_path), timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test passed" in done.stdout and "bundle" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.timeout(4 * 3600)
def test_bundle_command_line_works(bundle, tmp_path):
    done = subprocess.run([str(EXECUTABLE), "--version"], capture_output=True, text=True,
                          env=bare_env(tmp_path), timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("cxrviewer "), done.stderr
    done = subprocess.run([str(EXECUTABLE), "labels", "Mild cardiomegaly. No effusion.", "--json"],
                          capture_output=True, text=True, env=bare_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Cardiomegaly" in done.stdout


@pytest.mark.timeout(4 * 3600)
def test_bundle_is_trimmed_and_carries_licences(bundle):
    internal = bundle / "_internal"
    assert (internal / "resources" / "models" / "demo-clip" / "config.json").is_file()
    assert (internal / "cxrviewer" / "demo" / "report_templates.json").is_file()  # the self-test writes demo data
    for dist in ("pydicom", "pylibjpeg_libjpeg", "pylibjpeg_openjpeg", "pylibjpeg_rle", "python_gdcm", "pyjpegls",
                 "torch", "transformers", "timm", "pyside6_essentials", "pyqtgraph", "faiss_cpu"):
        assert (list(internal.glob(f"{dist}-*.dist-info"))
                or list(internal.glob(f"{dist.replace('_', '-')}-*.dist-info"))
                or [p for p in internal.glob("*.dist-info") if p.name.lower().startswith(dist + "-")]), dist
    qt = internal / "PySide6"
    for unused in ("QtWebEngineCore", "QtQuick", "QtQml", "Qt3DCore", "QtMultimedia", "QtDesigner"):
        assert not list(qt.glob(f"{unused}.*")), unused
    assert not (internal / "triton").exists()
    assert not list(internal.rglob("__pycache__"))
    assert not [p for p in internal.rglob("tests") if p.is_dir() and any(p.glob("test_*.py"))]
    platforms = {p.name for p in (qt / "Qt" / "plugins" / "platforms").glob("*")}
    assert (any("offscreen" in n for n in platforms) and any("xcb" in n for n in platforms)) or os.name == "nt"
