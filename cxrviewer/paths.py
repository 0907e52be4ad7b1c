"""Where cxrviewer keeps its files: platformdirs locations, overridable by environment.

``CXRVIEWER_HOME`` puts config, data and cache under one folder (tests and portable installs use
it); ``CXRVIEWER_CONFIG_DIR``, ``CXRVIEWER_DATA_DIR``, ``CXRVIEWER_CACHE_DIR`` and
``CXRVIEWER_LOG_DIR`` override one each.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "cxrviewer"


def _location(kind: str) -> Path:
    specific = os.environ.get(f"CXRVIEWER_{kind.upper()}_DIR")
    if specific:
        return Path(specific)
    home = os.environ.get("CXRVIEWER_HOME")
    if home:
        return Path(home) / kind
    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    if kind == "data":
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if kind == "log":
        return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return _location("config")


def data_dir() -> Path:
    return _location("data")


def cache_dir() -> Path:
    return _location("cache")


def log_dir() -> Path:
    """The window's log file and the stacks of fatal crashes (``CXRVIEWER_LOG_DIR`` overrides)."""
    return _location("log")


def settings_file() -> Path:
    return config_dir() / "settings.json"


def resources_dir() -> Path:
    """The project's ``resources/`` folder (screenshot, demo data, demo model).

    A PyInstaller bundle puts it under ``sys._MEIPASS``; a wheel install carries it inside the
    package as ``_resources``; in a source checkout or editable install it sits beside the package.
    """
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root:
        return Path(bundle_root) / "resources"
    package = Path(__file__).resolve().parent
    installed = package / "_resources"
    return installed if installed.is_dir() else package.parent / "resources"
