"""User settings: a typed dataclass saved as JSON in the config folder.

Unknown keys are ignored and missing keys take their defaults, so an older or newer settings file
never stops the app from starting; a corrupt file is set aside (renamed) rather than overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.fileio import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class UserPreset:
    name: str
    center: float
    width: float


@dataclass
class Settings:
    last_folder: str = ""
    window_geometry: str = ""  # base64 of QMainWindow.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState()
    anonymise: bool = False
    show_overlays: bool = True
    user_presets: list[UserPreset] = field(default_factory=list)
    recent_folders: list[str] = field(default_factory=list)
    search_library: str = ""  # name or path; "" is the demo library
    search_route: str = "labels"

    def remember_folder(self, folder: str, keep: int = 10) -> None:
        self.last_folder = folder
        self.recent_folders = [folder] + [f for f in self.recent_folders if f != folder][: keep - 1]


def _from_dict(data: dict[str, Any]) -> Settings:
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    presets = values.pop("user_presets", []) or []
    settings = Settings(**values)
    settings.user_presets = [
        UserPreset(str(p["name"]), float(p["center"]), float(p["width"]))
        for p in presets
        if isinstance(p, dict) and {"name", "center", "width"} <= p.keys()
    ]
    return settings


def load(path: Path | None = None) -> Settings:
    path = path or paths.settings_file()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        log.warning("cannot read settings %s: %s", path, exc)
        return Settings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return _from_dict(data)
    except (ValueError, TypeError) as exc:
        aside = path.with_suffix(".corrupt.json")
        log.warning("settings file %s is unreadable (%s); moved to %s", path, exc, aside)
        try:
            os.replace(path, aside)
        except OSError:
            pass
        return Settings()


def save(settings: Settings, path: Path | None = None) -> None:
    path = path or paths.settings_file()
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2))
