"""Build the one-folder desktop bundle: ``python packaging/build.py``.

Steps, each timed:

1. a clean virtual environment in ``packaging/build/venv`` (deleted and made again unless
   ``--reuse-venv``);
2. ``pip install <repo> pyinstaller`` into it (with ``--reuse-venv`` only the project itself is
   reinstalled, without its dependencies: the quick loop while editing the spec or the code);
3. PyInstaller with ``packaging/cxrviewer.spec``: work files in ``packaging/build/pyinstaller``,
   the bundle in ``packaging/dist/cxrviewer`` (run ``packaging/dist/cxrviewer/cxrviewer``);
4. optionally (``--self-test``) the bundle's own ``cxrviewer --self-test``.

Only the standard library is used here, so any Python >= 3.10 can run it; the bundle is made
for the Python that runs this script and the platform it runs on (PyInstaller does not
cross-compile).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUILD = HERE / "build"
DIST = HERE / "dist"
VENV = BUILD / "venv"
SPEC = HERE / "cxrviewer.spec"
PYINSTALLER = "pyinstaller>=6.10,<7"


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def bundle_executable() -> Path:
    return DIST / "cxrviewer" / ("cxrviewer.exe" if os.name == "nt" else "cxrviewer")


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def make_venv(reuse: bool) -> Path:
    python = venv_python(VENV)
    if reuse and python.exists():
        return python
    if VENV.exists():
        shutil.rmtree(VENV)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    return python


def install(python: Path, reuse: bool) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if reuse:
        # The dependencies are there already: reinstall only the project (code or resources changed).
        run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", str(REPO)], env=env)
        return
    run([python, "-m", "pip", "install", "--upgrade", "pip"], env=env)
    run([python, "-m", "pip", "install", str(REPO), PYINSTALLER], env=env)


def pyinstaller(python: Path) -> None:
    env = {**os.environ, "CXRVIEWER_REPO": str(REPO)}
    env.pop("PYTHONPATH", None)  # analyse the clean venv, never the checkout or another venv
    run([python, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", DIST, "--workpath", BUILD / "pyinstaller", SPEC], env=env, cwd=HERE)


def self_test() -> int:
    with tempfile.TemporaryDirectory(prefix="cxrviewer-selftest-") as home:
        env = {**os.environ, "CXRVIEWER_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        print("+", bundle_executable(), "--self-test", flush=True)
        return subprocess.run([str(bundle_executable()), "--self-test"], env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-venv", action="store_true",
                        help="keep packaging/build/venv and reinstall only the project (fast rebuilds)")
    parser.add_argument("--self-test", action="store_true", help="run the bundle's --self-test after building")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    python = make_venv(args.reuse_venv)
    timings["venv"] = time.perf_counter() - started
    step = time.perf_counter()
    install(python, args.reuse_venv)
    timings["install"] = time.perf_counter() - step
    step = time.perf_counter()
    pyinstaller(python)
    timings["pyinstaller"] = time.perf_counter() - step
    size = folder_size(DIST / "cxrviewer")
    print(f"bundle: {DIST / 'cxrviewer'}  {size / 2**30:.2f} GiB  "
          + "  ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"  total {time.perf_counter() - started:.0f} s", flush=True)
    if args.self_test:
        return self_test()
    return 0


if __name__ == "__main__":
    sys.exit(main())
