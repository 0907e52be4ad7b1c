"""User settings: a typed dataclass saved as JSON in the config folder.

Unknown keys are ignored and missing keys take their defaults, so an older or newer settings file
never stops the app from starting. A file that cannot be used as it is (not UTF-8 text, not JSON,
nested past what the parser handles, values of the wrong type) is set aside, renamed beside it,
never overwritten, and the app starts with the defaults for what was wrong, saying so
(:func:`load_with_notice`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from cxrviewer import paths
from cxrviewer.fileio import atomic_write_text

log = logging.getLogger(__name__)

# Far above any real settings file (a few kB); a bigger one is not read into memory.
MAX_SETTINGS_BYTES = 1_000_000


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
        others = [f for f in self.recent_folders if f != folder]
        self.recent_folders = [folder, *others[:keep - 1]]


class _Unusable(Exception):
    """The file cannot be used at all (its text or its JSON); the message says why."""


def _finite_number(n: object) -> TypeGuard[int | float]:
    return isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n)


def _preset(value: Any) -> UserPreset | None:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    center, width = value.get("center"), value.get("width")
    if not (_finite_number(center) and _finite_number(width)):
        return None
    return UserPreset(value["name"], float(center), float(width))


def _from_dict(data: dict[str, Any]) -> tuple[Settings, list[str]]:
    """The settings in ``data`` and the keys whose values were unusable (those keep their defaults)."""
    settings = Settings()
    invalid: list[str] = []
    for f in dataclasses.fields(Settings):
        if f.name not in data:
            continue
        value, default = data[f.name], getattr(settings, f.name)
        if f.name == "user_presets":
            presets = [_preset(p) for p in value] if isinstance(value, list) else [None]
            ok = None not in presets
            value = [p for p in presets if p is not None]
        elif f.name == "recent_folders":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            value = [v for v in value if isinstance(v, str)] if isinstance(value, list) else default
        else:  # str and bool fields: exactly that type (json gives bool for true/false only)
            ok = type(value) is type(default)
            value = value if ok else default
        if not ok:
            invalid.append(f.name)
        setattr(settings, f.name, value)
    return settings, invalid


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Notepad's UTF-8) is harmless
    except UnicodeDecodeError:
        raise _Unusable("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _Unusable("nested too deeply") from None
    except ValueError as exc:
        raise _Unusable(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _Unusable("not a JSON object")
    return data


def _set_aside(path: Path) -> Path | None:
    aside = path.with_suffix(".corrupt.json")
    try:
        os.replace(path, aside)
    except OSError as exc:
        log.warning("could not move the settings file aside: %s", exc)
        return None
    return aside


def load_with_notice(path: Path | None = None) -> tuple[Settings, str]:
    """The saved settings and, when the file could not be used as it was, a sentence for the user
    saying what was wrong, where the file went and what the app uses instead ("" otherwise)."""
    path = path or paths.settings_file()
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise _Unusable(f"{path.stat().st_size:,} bytes, far too large")
        data = _parse(path.read_bytes())
        settings, invalid = _from_dict(data)
        if not invalid:
            return settings, ""
        reset = f"Settings {', '.join(invalid)} reset to their defaults (invalid values)"
    except FileNotFoundError:
        return Settings(), ""
    except _Unusable as exc:
        settings, reset = Settings(), f"Settings reset to their defaults (the file was {exc})"
    except OSError as exc:
        notice = f"Settings reset to their defaults: {path} could not be read ({exc.strerror or exc})."
        log.warning("%s", notice)
        return Settings(), notice
    aside = _set_aside(path)
    notice = f"{reset}; the old file is now {aside}." if aside else f"{reset}; the file {path} is left as it was."
    log.warning("%s", notice)
    return settings, notice


def load(path: Path | None = None) -> Settings:
    return load_with_notice(path)[0]


def save(settings: Settings, path: Path | None = None) -> None:
    path = path or paths.settings_file()
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2))
