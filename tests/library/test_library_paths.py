"""A library and its dataset keep working from any working folder and after being moved
together: a film found by a search opens, wherever the library was built from."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from dataset_trees import nih_tree

from cxrviewer.cli import run
from cxrviewer.library.library import Library, SearchRequest

CASE = "nih:00000001_000"


@pytest.fixture
def built_from_relative_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``library build --root data/nih --out libs/nih`` run in ``tmp_path/work``."""
    work = tmp_path / "work"
    nih_tree(work / "data" / "nih")
    monkeypatch.chdir(work)
    assert run(["library", "build", "--dataset", "nih", "--root", "data/nih", "--out", "libs/nih",
                "--workers", "1"]) == 0
    return work


def _films(library: Library) -> list[str]:
    hits = library.search(SearchRequest(text="Cardiomegaly and effusion.", k=10)).hits
    return [library.case(CASE).image] + [h.case.image for h in hits]


def test_a_library_built_from_a_relative_root_opens_its_films_from_another_folder(
        built_from_relative_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with Library.open(built_from_relative_root / "libs" / "nih") as library:
        films = _films(library)
    assert len(films) > 1
    for film in films:
        assert Path(film).is_absolute() and Path(film).is_file(), film
    assert films[0] == str(built_from_relative_root / "data/nih/images_001/images/00000001_000.png")


def test_a_library_moved_with_its_dataset_still_finds_its_films(
        built_from_relative_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    moved = tmp_path / "disk2" / "teaching"
    moved.parent.mkdir()
    shutil.move(str(built_from_relative_root), str(moved))
    assert not (built_from_relative_root / "data").exists()
    with Library.open(moved / "libs" / "nih") as library:
        films = _films(library)
    for film in films:
        assert Path(film).is_file() and Path(film).is_relative_to(moved), film
    manifest = json.loads((moved / "libs" / "nih" / "manifest.json").read_text())
    assert manifest["sources"][0]["root_from_library"] == "../../data/nih"


def test_a_library_moved_alone_uses_the_datasets_absolute_path(
        built_from_relative_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.move(str(built_from_relative_root / "libs" / "nih"), str(tmp_path / "nih-library"))
    with Library.open(tmp_path / "nih-library") as library:
        assert all(Path(film).is_file() for film in _films(library))


def test_libraries_built_before_relative_roots_were_resolved_still_open(
        built_from_relative_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Those stored each film relative to the working folder of the build, and no root relative
    to the library: their films are looked for under the dataset root's parents."""
    folder = built_from_relative_root / "libs" / "nih"
    with sqlite3.connect(folder / "library.sqlite") as db:
        db.execute("UPDATE cases SET image = substr(image, ?)", (len(str(built_from_relative_root)) + 2,))
    manifest = json.loads((folder / "manifest.json").read_text())
    for source in manifest["sources"]:
        source.pop("root_from_library")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.chdir(tmp_path)
    with Library.open(folder) as library:
        assert library.store.db.execute("SELECT image FROM cases LIMIT 1").fetchone()[0].startswith("data/nih/")
        assert all(Path(film).is_file() for film in _films(library))


def test_a_film_opened_from_disk_is_found_by_its_path_where_it_is_now(
        built_from_relative_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window asks the open library for the case of a film opened from a dataset's folder."""
    monkeypatch.chdir(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(str(built_from_relative_root), str(moved))
    film = moved / "data/nih/images_001/images/00000002_000.png"
    with Library.open(moved / "libs" / "nih") as library:
        case = library.case_for_image(str(film))
        assert case is not None and case.case_id == "nih:00000002_000" and case.image == str(film)
        assert case.findings["No Finding"] == "positive" and case.findings_source == "dataset"
        (tmp_path / "other.png").write_bytes(film.read_bytes())
        assert library.case_for_image(str(tmp_path / "other.png")) is None
