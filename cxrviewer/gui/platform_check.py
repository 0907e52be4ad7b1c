"""Before the window: can Qt's X11 platform plugin (xcb) start here?

On a minimal Linux, Qt aborts the process (SIGABRT, exit 134) when the xcb plugin's system
libraries are missing ("xcb-cursor0 is needed", then libxcb-icccm4, libxcb-keysyms1, ...) or
when there is no display at all. An abort cannot be caught, so this runs before the QApplication:
it loads the plugin as Qt is about to, and only after a failure runs ``ldd`` to name every
missing library with its Debian / Ubuntu package. Loading costs 5-10 ms (ctypes binds every
symbol at once), so a success is remembered in the cache folder, keyed by the plugin file, the
dynamic linker's cache and LD_LIBRARY_PATH (installing or removing a library rewrites
/etc/ld.so.cache): later starts pay a few stat calls. Nothing runs when Qt is told to use
another platform (``QT_QPA_PLATFORM=offscreen`` for ``--screenshot`` and the tests, wayland, ...).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

PLUGIN_FILE = "libqxcb.so"

# The libraries that PySide6 6.x's xcb plugin and Qt GUI load and that a bare Debian / Ubuntu
# lacks, with the package of each (checked with ldd and dpkg -S on Debian 12; the README's quick
# start lists the same packages).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}

WITHOUT_A_WINDOW = (
    "Without a window, cxrviewer still works:\n"
    "  QT_QPA_PLATFORM=offscreen cxrviewer --screenshot view.png [PATH] [--query TEXT]\n"
    "      draws the window into a PNG file and exits\n"
    "  cxrviewer --help\n"
    "      lists the commands (search, info, library build, ...), which need no display"
)

LINKER_CACHE = Path("/etc/ld.so.cache")


def uses_xcb(env: Mapping[str, str]) -> bool:
    """Whether Qt will start its xcb plugin (Linux, no other platform asked for, no Wayland session)."""
    if not sys.platform.startswith("linux"):
        return False
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    return not (env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland")


def xcb_plugin(env: Mapping[str, str]) -> Path | None:
    """The plugin file Qt would load: QT_QPA_PLATFORM_PLUGIN_PATH, QT_PLUGIN_PATH, then PySide6's."""
    from importlib.util import find_spec

    folders = [Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])] if env.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    folders += [Path(p) / "platforms" for p in env.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = find_spec("PySide6")
    if spec:
        folders += [Path(p) / "Qt" / "plugins" / "platforms" for p in (spec.submodule_search_locations or [])]
    return next((f / PLUGIN_FILE for f in folders if (f / PLUGIN_FILE).is_file()), None)


def missing_libraries(plugin: Path, load_error: str = "") -> list[str]:
    """The libraries ``plugin`` needs that the dynamic linker cannot find (``ldd``; else the one
    named in ``load_error``). Runs only after a failure."""
    import re
    import shutil
    import subprocess

    ldd = shutil.which("ldd")
    if ldd:
        try:
            done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
            found = list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", done.stdout, re.MULTILINE)))
            if found:
                return found
        except (OSError, subprocess.SubprocessError):
            pass
    return libraries_in_error(load_error)[:1]


def libraries_in_error(text: str) -> list[str]:
    """The libraries a loader error says it cannot open ("libEGL.so.1: cannot open shared ...")."""
    import re

    return re.findall(r"([^\s:/]+\.so[.\d]*): cannot open shared object file", text)


def package_hint(libraries: list[str]) -> str:
    packages = list(dict.fromkeys(DEBIAN_PACKAGES[name] for name in libraries if name in DEBIAN_PACKAGES))
    return f"On Debian or Ubuntu: sudo apt install {' '.join(packages)}" if packages else ""


def platform_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why Qt's window cannot start here (a message for the user), or None when it can or when
    xcb is not the platform Qt will use."""
    env = os.environ if env is None else env
    if not uses_xcb(env):
        return None
    plugin = xcb_plugin(env)
    if plugin is not None:
        problem = _plugin_problem(plugin, env)
        if problem:
            return problem
    if not env.get("DISPLAY"):
        return ("cxrviewer cannot open its window: there is no display (DISPLAY is not set; over ssh, "
                "connect with ssh -X).\n" + WITHOUT_A_WINDOW)
    return None


def _plugin_problem(plugin: Path, env: Mapping[str, str]) -> str | None:
    from cxrviewer import paths

    key = _loaded_before_key(plugin, env)
    marker = paths.cache_dir() / "qt-xcb-plugin-loads"
    try:
        if key and marker.read_text(encoding="utf-8") == key:
            return None
    except (OSError, UnicodeDecodeError):
        pass
    import ctypes

    try:
        ctypes.CDLL(str(plugin))  # the libraries stay loaded for Qt
    except OSError as exc:
        # Only a library that cannot be found is certain to stop Qt; anything else (an unresolved
        # symbol that Qt's lazy binding may never need) is left for Qt to judge.
        if "cannot open shared object file" not in str(exc):
            return None
        missing = missing_libraries(plugin, str(exc))
        hint = package_hint(missing)
        return ("cxrviewer cannot open its window: Qt's X11 platform plugin (xcb) needs system "
                f"libraries that are not installed: {', '.join(missing) or exc}.\n"
                + (f"  {hint}\n" if hint else "")
                + "  (the README's quick start lists every package Qt needs on a bare system)\n"
                + WITHOUT_A_WINDOW)
    if key:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(key, encoding="utf-8")
        except OSError:
            pass
    return None


def _loaded_before_key(plugin: Path, env: Mapping[str, str]) -> str:
    """What a successful load depends on; "" when it cannot be told (then nothing is remembered)."""
    try:
        stats = [plugin.stat(), LINKER_CACHE.stat()]
    except OSError:
        return ""
    files = " ".join(f"{s.st_ino}:{s.st_size}:{s.st_mtime_ns}" for s in stats)
    return f"{plugin}\n{files}\nLD_LIBRARY_PATH={env.get('LD_LIBRARY_PATH', '')}\n"
