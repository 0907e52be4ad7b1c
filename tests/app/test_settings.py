from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer import paths, settings


def test_user_folders_follow_cxrviewer_home(isolated_user_dirs: Path) -> None:
    assert paths.config_dir() == isolated_user_dirs / "config"
    assert paths.data_dir() == isolated_user_dirs / "data"
    assert paths.settings_file().is_relative_to(isolated_user_dirs)


def test_settings_round_trip_and_recent_folders() -> None:
    s = settings.Settings(anonymise=True, user_presets=[settings.UserPreset("Soft", 40.0, 400.0)])
    for folder in ["/a", "/b", "/a"]:
        s.remember_folder(folder)
    settings.save(s)
    loaded = settings.load()
    assert loaded.anonymise is True
    assert loaded.recent_folders == ["/a", "/b"] and loaded.last_folder == "/a"
    assert loaded.user_presets == [settings.UserPreset("Soft", 40.0, 400.0)]


def test_unknown_keys_are_ignored_and_a_corrupt_file_is_set_aside() -> None:
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"anonymise": True, "from_a_newer_version": 1}))
    assert settings.load().anonymise is True
    path.write_text("{not json")
    assert settings.load() == settings.Settings()
    assert path.with_suffix(".corrupt.json").read_text() == "{not json"
    assert not path.exists()


UNUSABLE_FILES = {
    "binary garbage": bytes(range(256)) * 4,
    "UTF-16 text": json.dumps({"anonymise": True}).encode("utf-16"),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "a JSON list": b"[1, 2, 3]",
}


@pytest.mark.parametrize("kind", list(UNUSABLE_FILES))
def test_an_unusable_settings_file_is_set_aside_and_the_defaults_used(kind: str) -> None:
    """Garbage, UTF-16 and deep nesting raised UnicodeDecodeError / RecursionError out of load():
    the app could not start until the user found and deleted the file."""
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(UNUSABLE_FILES[kind])
    assert settings.load() == settings.Settings()
    aside = path.with_suffix(".corrupt.json")
    assert aside.read_bytes() == UNUSABLE_FILES[kind] and not path.exists()

    path.write_bytes(UNUSABLE_FILES[kind])
    loaded, notice = settings.load_with_notice()
    assert loaded == settings.Settings()
    assert notice.startswith("Settings reset to their defaults (the file was ")
    assert notice.endswith(f"; the old file is now {aside}.")


def test_values_of_the_wrong_type_take_their_defaults_and_the_rest_is_kept() -> None:
    """`"recent_folders": 5` loaded as 5 and the window failed with TypeError on every start."""
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    written = {"anonymise": True, "last_folder": "/studies", "recent_folders": 5, "show_overlays": "no",
               "user_presets": [{"name": "Soft", "center": 40, "width": 400}, {"name": "bad", "center": "x"}],
               "window_geometry": 7}
    path.write_text(json.dumps(written))
    loaded = settings.load()
    assert loaded.anonymise is True and loaded.last_folder == "/studies"
    assert loaded.recent_folders == [] and loaded.show_overlays is True and loaded.window_geometry == ""
    assert loaded.user_presets == [settings.UserPreset("Soft", 40.0, 400.0)]
    path.write_text(json.dumps(written))
    again, notice = settings.load_with_notice()
    assert again == loaded
    assert notice.startswith("Settings ") and "reset to their defaults (invalid values)" in notice
    for key in ("recent_folders", "show_overlays", "user_presets", "window_geometry"):
        assert key in notice
    assert "anonymise" not in notice
    assert json.loads(path.with_suffix(".corrupt.json").read_text()) == written
    assert not path.exists()
    settings.save(loaded)  # what the window writes on closing: a clean file
    assert settings.load_with_notice() == (loaded, "")


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    from cxrviewer.fileio import atomic_write_text

    target = tmp_path / "sub" / "file.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]
