"""A finished library is never changed in place: a build that adds to it writes the next
version's database and index beside the old ones and swaps the manifest last, readers (which
write nothing, not even a lock or journal file) follow on their next search, and the version
before the current one is kept for readers that still have it open. Also: embeddings stored as
float16, and libraries from before versions still open and extend."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.library.build import BuildCancelled, BuildOptions, build_library
from cxrviewer.library.library import Library, SearchRequest
from cxrviewer.library.manifest import read_manifest
from cxrviewer.library.repair import repair_library
from cxrviewer.library.versions import files_of

REPO = Path(__file__).resolve().parents[2]


def _build(demo_dataset: Path, folder: Path, limit: int | None, clip_folder: Path | None = None, **kw):
    return build_library(BuildOptions("demo", demo_dataset, folder, workers=1, limit=limit, batch_size=8,
                                      encoder=str(clip_folder) if clip_folder else ""), **kw)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _first_case(folder: Path) -> str:
    with Library.open(folder) as library:
        return library.store.cases([0])[0].case_id


def test_extending_a_finished_library_writes_a_new_version_beside_the_old(demo_dataset, clip_folder, tmp_path):
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16, clip_folder)
    first = read_manifest(folder)
    assert first.store == "library.sqlite" and json.loads((folder / "manifest.json").read_text())["format_version"] == 1
    route, case_id = first.route, _first_case(folder)
    untouched = Library.open(folder)  # opened at version 1, not used again until the end
    reader = Library.open(folder)
    before = reader.search(SearchRequest(case_id=case_id, route=route, k=5))
    old_files = {name: digest for name, digest in _digests(folder).items() if name in files_of(first)}

    result = _build(demo_dataset, folder, 32, clip_folder)

    second = read_manifest(folder)
    assert (result.added, result.total) == (16, 32)
    assert (second.store, second.index.file) == ("library-000002.sqlite", "index-000002.faiss")
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == 2
    assert {n: d for n, d in _digests(folder).items() if n in old_files} == old_files, "the old version changed"
    assert not [p.name for p in folder.iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]
    with sqlite3.connect(f"{(folder / second.store).as_uri()}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # stands alone for immutable readers
    assert reader.store.path.name == "library.sqlite" and reader.count == 16  # until its next search
    after = reader.search(SearchRequest(case_id=case_id, route=route, k=5))
    assert reader.store.path.name == second.store and reader.count == 32 and reader.index.count == 32
    assert len(after.hits) == len(before.hits) == 5

    _build(demo_dataset, folder, 48, clip_folder)
    third = read_manifest(folder)
    kept = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json")
    assert kept == sorted(files_of(second) | files_of(third)), "the version before the current one is kept"
    # a reader still on version 1 (its files are gone now) moves to the current one
    assert len(untouched.search(SearchRequest(case_id=case_id, route=route, k=5)).hits) == 5
    assert untouched.count == 48 and untouched.store.path.name == third.store
    for library in (untouched, reader):
        library.close()


def test_a_reader_writes_nothing_in_the_library_folder(demo_dataset, clip_folder, tmp_path):
    """Not a lock, a journal or a -wal/-shm: a library in a read-only network folder is opened
    the same way, and its index is memory-mapped (not read into each process's memory)."""
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16, clip_folder)
    _build(demo_dataset, folder, 24, clip_folder)
    past = time.time() - 60
    for path in folder.iterdir():
        os.utime(path, (past, past))

    def stamp() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}

    before = stamp()
    manifest = read_manifest(folder)
    with Library.open(folder) as library:
        assert library.search(SearchRequest(text="cardiomegaly", k=5)).hits
        assert library.search(SearchRequest(case_id=_first_case(folder), route=manifest.route, k=5)).hits
        assert library.store.read_only and stamp() == before
        if sys.platform.startswith("linux"):
            assert str(folder / manifest.index.file) in Path("/proc/self/maps").read_text()
    assert stamp() == before


def test_a_cut_short_extension_leaves_the_library_as_it_was_and_is_resumed(demo_dataset, tmp_path):
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16)
    calls = iter(range(1000))
    with pytest.raises(BuildCancelled):
        _build(demo_dataset, folder, None, should_cancel=lambda: next(calls) >= 12)
    manifest = read_manifest(folder)
    assert manifest.state == "ready" and manifest.store == "library.sqlite"
    with Library.open(folder) as library:  # readers go on with the finished version
        assert library.count == 16
    assert (folder / "library-000002.sqlite").is_file()
    result = _build(demo_dataset, folder, None)
    assert result.resumed and result.total == 48 and result.added < 32
    assert read_manifest(folder).store == "library-000002.sqlite"
    with Library.open(folder) as library:
        ids = [c.case_id for c in library.store.cases(list(range(48)))]
        assert len(set(ids)) == library.count == 48


def test_a_build_with_nothing_to_add_makes_no_version(demo_library, demo_dataset, tmp_path):
    import shutil

    folder = Path(shutil.copytree(demo_library, tmp_path / "lib"))
    before = _digests(folder)
    assert _build(demo_dataset, folder, None).added == 0
    assert _digests(folder) == before


def test_embeddings_are_stored_as_float16_and_a_repair_rebuilds_the_index_from_them(demo_dataset, clip_folder,
                                                                                     tmp_path):
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16, clip_folder)
    _build(demo_dataset, folder, 24, clip_folder)
    manifest = read_manifest(folder)
    with sqlite3.connect(folder / manifest.store) as db:
        assert {n for (n,) in db.execute("SELECT LENGTH(vec) FROM embeddings")} == {2 * manifest.dim}
    case_id = _first_case(folder)
    with Library.open(folder) as library:
        want = [h.case.case_id for h in library.search(SearchRequest(case_id=case_id, route=manifest.route, k=8)).hits]
    path = folder / manifest.index.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = repair_library(folder)
    assert result.repaired and read_manifest(folder).index.file != manifest.index.file
    with Library.open(folder) as library:
        got = [h.case.case_id for h in library.search(SearchRequest(case_id=case_id, route=manifest.route, k=8)).hits]
    assert got == want


def test_a_library_from_before_versions_with_float32_vectors_opens_and_extends(demo_dataset, clip_folder, tmp_path):
    """Older libraries: library.sqlite, format version 1, float32 embeddings."""
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16, clip_folder)
    manifest = read_manifest(folder)
    case_id = _first_case(folder)
    request = SearchRequest(case_id=case_id, route=manifest.route, k=5)
    with Library.open(folder) as library:
        want = [h.case.case_id for h in library.search(request).hits]
    with sqlite3.connect(folder / "library.sqlite") as db:
        rows = db.execute("SELECT row, vec FROM embeddings").fetchall()
        db.executemany("UPDATE embeddings SET vec = ? WHERE row = ?",
                       [(np.frombuffer(v, "<f2").astype("<f4").tobytes(), r) for r, v in rows])
    db.close()
    with Library.open(folder) as library:
        assert [h.case.case_id for h in library.search(request).hits] == want
    _build(demo_dataset, folder, 32, clip_folder)
    with sqlite3.connect(folder / read_manifest(folder).store) as db:
        assert sorted({n for (n,) in db.execute("SELECT LENGTH(vec) FROM embeddings")}) == [2 * manifest.dim,
                                                                                             4 * manifest.dim]
    db.close()
    with Library.open(folder) as library:
        assert len(library.search(request).hits) == 5 and library.index.count == 32


READER = r"""
import json, sys, time
from pathlib import Path
from cxrviewer.library.library import Library, SearchRequest

folder, route, case_id, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
seen, errors, after_stop, n = set(), [], 0, 0
library = Library.open(folder)
print("started", flush=True)
while after_stop < 5 and n < 100000:
    try:
        if n % 5 == 4:  # a reader that opens the library while the build runs
            library.close()
            library = Library.open(folder)
        by_case = library.search(SearchRequest(case_id=case_id, route=route, k=5))
        by_text = library.search(SearchRequest(text="cardiomegaly", k=5))
        complete = len(by_case.hits) == len(by_text.hits) == 5 and all(h.case.case_id for h in by_case.hits)
        seen.add((library.store.path.name, library.count, library.index.count, complete))
    except Exception as exc:
        errors.append(repr(exc))
    n += 1
    if stop.exists():
        after_stop += 1
    time.sleep(0.01)
print(json.dumps({"seen": sorted(seen), "errors": errors[:5], "searches": n}), flush=True)
"""


def test_readers_keep_searching_while_a_build_makes_a_new_version(demo_dataset, clip_folder, tmp_path):
    """Reader processes search (and reopen) in a loop while a build adds to the library: no
    reader errs, each sees either the old version or the new one, whole, and the folder ends with
    the new version (and the previous one, for readers still on it)."""
    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 24, clip_folder)
    old = read_manifest(folder)
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(folder), old.route, _first_case(folder), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(3)]
    try:
        for reader in readers:
            assert reader.stdout.readline().strip() == "started", reader.stderr.read()
        _build(demo_dataset, folder, None, clip_folder)
        stop.touch()
        outcomes = [json.loads(reader.communicate(timeout=120)[0].strip().splitlines()[-1]) for reader in readers]
    finally:
        for reader in readers:
            reader.kill()
    new = read_manifest(folder)
    versions = {(old.store, 24, 24, True), (new.store, 48, 48, True)}
    for outcome in outcomes:
        assert outcome["errors"] == [] and outcome["searches"] > 5
        seen = {tuple(s) for s in outcome["seen"]}
        assert seen == versions, "each reader searched the old version, then the new one"
    assert new.store == "library-000002.sqlite" and new.counts["cases"] == 48
    assert sorted(p.name for p in folder.iterdir() if p.name != "manifest.json") == \
        sorted(files_of(old) | files_of(new))


@pytest.mark.parametrize("command", ["repair", "build --repair"])
def test_a_damaged_database_of_a_later_version_is_repaired_by_both_commands(demo_dataset, clip_folder, tmp_path,
                                                                           command):
    """Versioned names: the database a repair checks and rebuilds is the one the manifest names
    (library-000002.sqlite here), and the repaired library opens and searches."""
    from cxrviewer.cli import run

    folder = tmp_path / "lib"
    _build(demo_dataset, folder, 16, clip_folder)
    _build(demo_dataset, folder, 24, clip_folder)
    damaged = read_manifest(folder)
    assert damaged.store == "library-000002.sqlite"
    path = folder / damaged.store
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\x00" * 4096  # a page of the database overwritten
    path.write_bytes(bytes(data))
    args = ["library", *command.split(), str(folder)] if command == "repair" else \
        ["library", "build", "--repair", "--dataset", "demo", "--root", str(demo_dataset), "--out", str(folder),
         "--encoder", str(clip_folder), "--limit", "24", "--workers", "1"]
    if command == "repair":
        args += ["--dataset", "demo", "--root", str(demo_dataset)]
    assert run(args) == 0
    repaired = read_manifest(folder)
    total = 48  # a repair rebuilds the database from the whole dataset the manifest names
    assert repaired.state == "ready" and repaired.counts["cases"] == total
    aside = [p for p in folder.iterdir() if p.name.startswith("damaged-")]
    assert len(aside) == 1 and (aside[0] / damaged.store).is_file()
    with Library.open(folder) as library:
        assert library.store.check() == "" and library.count == total and library.index.count == total
        assert len(library.search(SearchRequest(text="cardiomegaly", k=5)).hits) == 5
