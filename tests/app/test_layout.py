"""The architecture rules hold: Qt only in the GUI, heavy libraries never loaded at start-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_building_the_main_window_leaves_torch_and_faiss_unloaded(tmp_path: Path) -> None:
    script = """
import sys
from cxrviewer.gui.launch import create_app
from cxrviewer.gui.main_window import MainWindow
app = create_app()
window = MainWindow()
window.persist_settings = False
window.show()
app.processEvents()
heavy = sorted(m for m in ("torch", "faiss", "transformers", "timm") if m in sys.modules)
window.close()
print("HEAVY=" + ",".join(heavy))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CXRVIEWER_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout or result.stdout.strip().endswith("HEAVY="), result.stdout


def test_a_plain_start_gets_the_parsers_defaults_without_running_it() -> None:
    """`cxrviewer` alone skips argparse; what it starts with must be what the parser would give."""
    from cxrviewer.app import NO_ARGUMENTS, build_gui_parser

    assert vars(build_gui_parser().parse_args([])) == NO_ARGUMENTS


def test_entry_point_dispatches_commands_and_gui_options(capsys) -> None:
    from cxrviewer.app import main

    assert main(["--version"]) == 0
    assert "cxrviewer" in capsys.readouterr().out
    result = subprocess.run([sys.executable, "-m", "cxrviewer", "info", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "PATH" in result.stdout


def test_the_window_and_the_gui_and_services_modules_stay_small() -> None:
    """The main window is layout and an action table; every GUI and services module has one job."""
    package = ROOT / "cxrviewer"
    sizes = {path.relative_to(package).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for folder in ("gui", "services") for path in (package / folder).rglob("*.py")}
    assert sizes["gui/main_window.py"] < 350
    assert {name: lines for name, lines in sizes.items() if lines >= 450} == {}


def test_only_the_benchmarks_and_the_self_test_use_the_window_drivers() -> None:
    """The drivers are Qt code, so they live in cxrviewer.gui; the application never imports them
    (import-linter checks the packages outside cxrviewer.gui)."""
    import grimp

    graph = grimp.build_graph("cxrviewer")
    drivers = {m for m in graph.modules if m == "cxrviewer.gui.harness" or m.startswith("cxrviewer.gui.harness.")}
    users = {m for d in drivers for m in graph.find_modules_that_directly_import(d)} - drivers
    assert drivers and users == {"cxrviewer.bench.search", "cxrviewer.bench.viewer", "cxrviewer.selftest"}
