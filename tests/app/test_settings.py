from __future__ import annotations

import json
from pathlib import Path

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


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    from cxrviewer.fileio import atomic_write_text

    target = tmp_path / "sub" / "file.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]
