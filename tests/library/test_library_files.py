"""A library's files on a shared workstation: readable by the other accounts (the umask, not
0600), searchable where this account cannot write (read-only, nothing left beside the database),
no half-made library after a failed build, and a build that reports in JSON like the others."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from cxrviewer.cli import run
from cxrviewer.library.build import BuildOptions, build_library
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library, SearchRequest
from cxrviewer.library.manifest import read_manifest
from cxrviewer.library.store import Store

SIDE_FILES = ("library.sqlite-wal", "library.sqlite-shm")


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_every_library_file_gets_the_permissions_of_the_umask(umask, demo_dataset, clip_folder, tmp_path):
    """manifest.json and the index were 0600 while the database was 0644: a library built by one
    account could not be opened by the other users of the workstation."""
    previous = os.umask(umask)
    try:
        build_library(BuildOptions("demo", demo_dataset, tmp_path / "lib", workers=1, limit=6,
                                   encoder=str(clip_folder)))
    finally:
        os.umask(previous)
    folder = tmp_path / "lib"
    index = read_manifest(folder).index.file
    modes = {name: stat.S_IMODE((folder / name).stat().st_mode) for name in ("manifest.json", index, "library.sqlite")}
    assert modes["manifest.json"] == modes[index] == 0o666 & ~umask, modes
    assert all(mode & stat.S_IROTH for mode in modes.values()), modes


def test_a_failed_build_of_a_new_library_leaves_no_library_behind(demo_dataset, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "lib"
    assert run(["library", "build", "--dataset", "nih", "--root", str(tmp_path / "empty"), "--out", str(out)]) == 1
    assert "Data_Entry_2017" in capsys.readouterr().err
    assert not out.exists(), "a folder with a manifest would be listed and opened as a library"
    # in a folder the user made, only the build's own files go
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(LibraryError):
        build_library(BuildOptions("nih", tmp_path / "empty", mine, workers=1))
    assert mine.is_dir() and not any(mine.iterdir())
    # a cancelled build that stored cases is kept: running it again resumes it
    from cxrviewer.library.build import BuildCancelled

    calls = iter(range(1000))
    with pytest.raises(BuildCancelled):
        build_library(BuildOptions("demo", demo_dataset, tmp_path / "part", workers=1, batch_size=4),
                      should_cancel=lambda: next(calls) >= 5)
    assert read_manifest(tmp_path / "part").state == "building"


def test_build_reports_in_json(demo_dataset, tmp_path, capsys):
    out = tmp_path / "lib"
    assert run(["library", "build", "--dataset", "demo", "--root", str(demo_dataset), "--out", str(out),
                "--workers", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["library"], data["total"], data["added"], data["resumed"]) == (str(out), 48, 48, False)
    assert data["problem_count"] == len(data["problems"]) == 0 and data["repair"] is None


@pytest.mark.parametrize("k", ["-5", "0"])
def test_k_below_one_is_refused_on_both_routes(k, clip_library, capsys):
    """--k -5 returned all but the last five hits on the findings route and one hit on the model
    route; --k 0 differed between the routes."""
    for route in ("labels", "tiny-clip"):
        assert run(["search", "effusion", "--library", str(clip_library), "--route", route, "--k", k]) == 1
        err = capsys.readouterr().err
        assert f"at least 1, not {k}" in err
    with Library.open(clip_library) as library:
        for route in library.routes():
            with pytest.raises(LibraryError, match="at least 1"):
                library.search(SearchRequest(text="effusion", k=int(k), route=route))


# -- read-only libraries ------------------------------------------------------------------------


def _search_everything(folder: Path) -> tuple[int, int, bool]:
    """Open the library as the window's three connections do (the search worker's, the gallery's,
    the film-case lookup's), search it and read a thumbnail: (hits, thumbnail bytes, found the
    case of a film)."""
    from cxrviewer.services.search import FilmCases

    with Library.open(folder) as library:
        hits = library.search(SearchRequest(text="cardiomegaly", k=5)).hits
        film = library.case(hits[0].case.case_id).image
    store = Store(folder / "library.sqlite")
    try:
        thumb = store.thumbnail(hits[0].case.row) or b""
    finally:
        store.close()
    cases = FilmCases()
    try:
        _, case = cases.find(None, str(folder), film)
    finally:
        cases.close()
    return len(hits), len(thumb), case is not None


def test_a_library_this_account_cannot_write_is_opened_read_only(demo_library, tmp_path, monkeypatch):
    """What decides it, with permissions as they look to an account that cannot write here
    (these tests may run as root, whom permissions do not stop: see the next test)."""
    folder = Path(shutil.copytree(demo_library, tmp_path / "shared"))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK and str(folder) in str(p)
                        else real_access(p, mode, **kw))
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    hits, thumb, found = _search_everything(folder)
    assert hits == 5 and thumb > 0 and found
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # nothing written, nothing new
    with Library.open(folder) as library:  # while it is open too: a writer would have made -wal and -shm
        assert library.search(SearchRequest(text="effusion", k=3)).hits
        assert not [name for name in SIDE_FILES if (folder / name).exists()]
        assert library.store.read_only


def test_a_writable_library_is_opened_for_writing_and_leaves_no_wal_or_shm_behind(demo_library, tmp_path):
    """A read-only connection in a writable folder would leave the -wal and -shm it made (only
    a writer folds them back), so where this account may write, it opens as a writer."""
    folder = Path(shutil.copytree(demo_library, tmp_path / "lib"))
    hits, thumb, found = _search_everything(folder)
    assert hits == 5 and thumb > 0 and found
    assert not [name for name in SIDE_FILES if (folder / name).exists()]
    store = Store(folder / "library.sqlite")
    assert not store.read_only
    store.close()


_UNPRIVILEGED = 65534  # "nobody"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops to an unprivileged account (Linux)")
def test_a_read_only_folder_is_searchable_by_an_account_that_cannot_write_it(demo_library):
    """The real thing: a library folder and files chmod'ed read-only, searched by an account the
    kernel refuses writes to ("attempt to write a readonly database" before). As root, a forked
    child drops to uid 65534 after everything is imported; otherwise this account is used."""
    _search_everything(Path(demo_library))  # imports every module the child needs, while it can
    base = Path(tempfile.mkdtemp(prefix="cxrviewer-ro-"))
    folder = Path(shutil.copytree(demo_library, base / "archived"))
    try:
        for path in folder.iterdir():
            path.chmod(0o444)
        folder.chmod(0o555)
        base.chmod(0o755)
        def job() -> object:
            if os.access(folder, os.W_OK) or os.access(folder / "library.sqlite", os.W_OK):
                return "this account can write the folder: nothing would be tested"
            return _search_everything(folder)

        outcome = repr(job()) if os.geteuid() != 0 else _as_unprivileged(job)
        assert outcome.startswith("(5, ") and outcome.endswith(", True)"), outcome
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in Path(demo_library).iterdir()
                                                                   if p.name not in SIDE_FILES)
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base)


def _as_unprivileged(job) -> str:
    """``repr(job())`` run in a forked child as an unprivileged user (or the error it raised)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(_UNPRIVILEGED)
            os.setuid(_UNPRIVILEGED)
            text = repr(job())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            text = f"{type(exc).__name__}: {exc}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()
