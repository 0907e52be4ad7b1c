"""A damaged library: every command names the damaged file and says how to repair it, a plain
build refuses to build on it (it used to say "48 cases (0 added)" and leave the damage), and
`library repair` (also `library build --repair`) checks every file, keeps the damaged ones aside
and rebuilds them: the index from the stored vectors, the database from the dataset."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from cxrviewer.cli import run
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library, SearchRequest
from cxrviewer.library.manifest import read_manifest

SEARCH = ["search", "cardiomegaly", "--library"]


def _damage_pages(path: Path, tables: tuple[str, ...] = ("cases", "cases_pattern", "findings")) -> None:
    """Overwrite the root pages of ``tables`` with garbage (what a bad sector leaves): the file
    still opens, and the first query that reads them fails."""
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        roots = [db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
                 for t in tables]
    db.close()
    data = bytearray(path.read_bytes())
    for page in roots:
        data[(page - 1) * size:page * size] = b"\xa5" * size
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged(demo_library: Path, tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(demo_library, tmp_path / "damaged"))
    _damage_pages(folder / "library.sqlite")
    return folder


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_damaged_pages_are_a_message_naming_the_file_in_search_info_and_build(damaged, demo_dataset, capsys):
    store = str(damaged / "library.sqlite")
    with pytest.raises(LibraryError, match="library repair") as err:
        Library.open(damaged)
    assert type(err.value).__name__ == "LibraryDamaged" and err.value.path == store and "malformed" in err.value.reason
    for argv in ([*SEARCH, str(damaged)], ["library", "info", str(damaged)],
                 ["library", "build", "--dataset", "demo", "--root", str(demo_dataset), "--out", str(damaged)]):
        code, _, stderr = _cli(capsys, *argv)
        assert code == 1, argv
        assert stderr.startswith(f"cxrviewer: {store}: ") and "damaged" in stderr, stderr
        assert f"cxrviewer library repair {damaged}" in stderr and "Traceback" not in stderr


def test_repair_keeps_the_damaged_database_aside_and_rebuilds_it_from_the_dataset(damaged, demo_dataset, capsys):
    code, out, _ = _cli(capsys, "library", "repair", str(damaged))
    assert code == 0, out
    assert f"checked {damaged / 'library.sqlite'}: damaged" in out and "built from demo" in out
    aside = [p for p in damaged.iterdir() if p.name.startswith("damaged-")]
    assert len(aside) == 1 and (aside[0] / "library.sqlite").is_file()
    assert str(aside[0]) in out
    with Library.open(damaged) as library:
        assert library.count == 48
        assert library.search(SearchRequest(text="cardiomegaly", k=3)).hits
    assert read_manifest(damaged).state == "ready"
    code, out, _ = _cli(capsys, "library", "repair", str(damaged), "--json")
    data = json.loads(out)
    assert code == 0 and data["repaired"] is False and all(c["sound"] for c in data["checks"])


def test_build_with_repair_does_the_same(damaged, demo_dataset, capsys):
    code, out, _ = _cli(capsys, "library", "build", "--dataset", "demo", "--root", str(demo_dataset),
                        "--out", str(damaged), "--repair", "--workers", "1", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["repair"]["repaired"] and data["repair"]["moved"] == ["library.sqlite"]
    assert not data["repair"]["checks"][1]["sound"]
    assert data["total"] == 48 and data["added"] == 0  # the repair rebuilt it; the build found all there
    with Library.open(damaged) as library:
        assert library.count == 48


def test_a_damaged_index_is_rebuilt_from_the_stored_vectors(clip_library, demo_dataset, tmp_path, capsys):
    folder = Path(shutil.copytree(clip_library, tmp_path / "clip"))
    info = read_manifest(folder).index
    data = bytearray((folder / info.file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / info.file).write_bytes(bytes(data))
    code, _, err = _cli(capsys, "library", "build", "--dataset", "demo", "--root", str(demo_dataset),
                        "--out", str(folder), "--encoder", str(read_manifest(folder).preprocessing["encoder"]["path"]))
    assert code == 1 and f"{folder / info.file}: the index file is damaged" in err and "library repair" in err

    from cxrviewer.library.repair import repair_library

    result = repair_library(folder)
    assert not result.builds, "the vectors are in library.sqlite: no dataset was read, no model run"
    assert result.moved == (info.file,) and (result.set_aside / info.file).read_bytes() == bytes(data)
    repaired = read_manifest(folder).index
    assert repaired.file != info.file and repaired.count == 48 and repaired.sha256 == info.sha256
    with Library.open(folder) as library:
        assert library.search(SearchRequest(case_id="DEMO0001_S1", k=3, route=library.manifest.route)).hits


def test_a_damaged_manifest_needs_the_dataset_and_changes_nothing_without_it(demo_library, demo_dataset, tmp_path,
                                                                             capsys):
    folder = Path(shutil.copytree(demo_library, tmp_path / "lib"))
    (folder / "manifest.json").write_text('{"format": "cxrviewer-library", "format_vers')
    before = sorted(p.name for p in folder.iterdir())
    code, _, err = _cli(capsys, "library", "repair", str(folder))
    assert code == 1 and str(folder / "manifest.json") in err and "--dataset and --root" in err
    assert sorted(p.name for p in folder.iterdir()) == before
    code, out, _ = _cli(capsys, "library", "repair", str(folder), "--dataset", "demo", "--root", str(demo_dataset))
    assert code == 0 and "manifest.json" in out
    with Library.open(folder) as library:
        assert library.count == 48


def test_a_repair_whose_dataset_is_gone_changes_nothing(damaged, tmp_path):
    manifest = json.loads((damaged / "manifest.json").read_text())
    manifest["sources"] = [{"dataset": "demo", "root": str(tmp_path / "gone"), "root_from_library": "../gone"}]
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    before = (damaged / "library.sqlite").read_bytes()
    from cxrviewer.library.repair import repair_library

    with pytest.raises(LibraryError, match="not there") as err:
        repair_library(damaged)
    assert err.value.path == str(tmp_path / "gone")
    assert (damaged / "library.sqlite").read_bytes() == before
    assert not [p for p in damaged.iterdir() if p.name.startswith("damaged-")]


def test_a_sound_library_is_left_as_it_is(demo_library, tmp_path):
    from cxrviewer.library.repair import check_library, repair_library

    folder = Path(shutil.copytree(demo_library, tmp_path / "lib"))
    manifest, checks = check_library(folder)
    assert manifest is not None and all(c.sound for c in checks)
    result = repair_library(folder)
    assert not result.repaired and result.set_aside is None


def test_a_manifest_cannot_lead_outside_the_library(demo_library, tmp_path, capsys):
    """A manifest naming ``../../../etc/passwd`` as its index was followed outside the library."""
    folder = Path(shutil.copytree(demo_library, tmp_path / "lib"))
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not an index")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["route"] = "tiny-clip"
    manifest["index"] = {"file": "../secret.bin", "kind": "flat", "count": 0,
                         "sha256": __import__("hashlib").sha256(b"not an index").hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    reads: list[str] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        reads.append(str(self))
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "read_bytes", spy)
        with pytest.raises(LibraryError, match="not a file in the library folder") as err:
            Library.open(folder)
    assert err.value.path == str(folder / "manifest.json")
    assert not any("secret" in r for r in reads)
    code, _, stderr = _cli(capsys, *SEARCH, str(folder))
    assert code == 1 and "../secret.bin" in stderr


def test_a_damaged_database_of_a_model_route_is_rebuilt_with_its_model_and_index(clip_library, tmp_path):
    from cxrviewer.library.repair import repair_library

    folder = Path(shutil.copytree(clip_library, tmp_path / "clip"))
    before = read_manifest(folder)
    _damage_pages(folder / "library.sqlite")
    result = repair_library(folder, workers=1)
    assert set(result.moved) == {"library.sqlite", before.index.file}
    after = read_manifest(folder)
    assert after.state == "ready" and after.route == before.route and after.index.count == 48
    assert after.index.file != before.index.file  # a new generation, never an old file's name
    assert after.preprocessing["encoder"]["fingerprint"] == before.preprocessing["encoder"]["fingerprint"]
    with Library.open(folder) as library:
        hits = library.search(SearchRequest(text="small left pleural effusion", k=3, route=after.route)).hits
    assert len(hits) == 3
