"""Versions of a finished library, so that many readers can search it while a build adds to it.

A finished ("ready") library's files are never changed: readers open its database ``immutable``
(SQLite then takes no locks and writes nothing beside it, which is what a read-only network
folder needs, and it also reads nothing twice, so it must never see the file change) and map its
index. A build that adds to it copies the database to the next generation's name, adds to the
copy, writes the next index beside it, folds the copy's journal in, and only then rewrites
``manifest.json`` (atomically) to name the two new files. Readers follow on their next search
(``Library.refresh``). The build then removes every version but the new one and the one before
it: a reader that opened the previous version keeps working until it next searches, and a file
another process may still hold is never rewritten (SIGBUS, design.md). Where a file cannot be
removed yet (Windows, while a reader has it open) a later build removes it.

The first version of a library is generation 1: ``library.sqlite`` (the name libraries have
always had) and ``index-000001.faiss``; later ones are ``library-<generation>.sqlite`` with
``index-<generation>.faiss``. One build at a time writes a library.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from cxrviewer.library.manifest import (
    FIRST_STORE,
    MANIFEST_NAME,
    Manifest,
    read_manifest,
)
from cxrviewer.library.sqlite_access import STORE_SIDE_FILES, connect_read_only

SET_ASIDE_PREFIX = "damaged-"  # a repair keeps damaged files in <library>/damaged-<time>/ (repair.py)
_VERSIONED = re.compile(r"^(?:index-(\d+)\.faiss|library-(\d+)\.sqlite)$")
_COPYING = ".copying"


def store_file_name(generation: int) -> str:
    return FIRST_STORE if generation <= 1 else f"library-{generation:06d}.sqlite"


def generation_of(name: str) -> int | None:
    """The generation of a library file's name (``library.sqlite`` is 1), None for others."""
    if name == FIRST_STORE:
        return 1
    found = _VERSIONED.match(name)
    return None if found is None else int(found.group(1) or found.group(2))


def version_files(folder: Path) -> list[Path]:
    """The database and index files of every version in ``folder``."""
    return sorted(p for p in folder.iterdir() if generation_of(p.name) is not None)


def next_generation(folder: Path, manifest: Manifest | None) -> int:
    """A generation above every file in the folder, set aside by a repair, or named by the
    manifest: a new file never takes the name of one a reader may still know."""
    return max((g for g in map(generation_of, _known_names(folder, manifest)) if g is not None), default=0) + 1


def index_generation(folder: Path, manifest: Manifest) -> int:
    """The generation of a new index for the manifest's database, where the database stays (a
    build of a new library, a repair): the database's, unless an index file of that generation
    or later was ever written (then the next one)."""
    indexes = [g for name in _known_names(folder, manifest) if name.startswith("index-")
               for g in [generation_of(name)] if g is not None]
    return max(generation_of(manifest.store) or 1, max(indexes, default=0) + 1)


def _known_names(folder: Path, manifest: Manifest | None) -> list[str]:
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    names += [p.name for p in folder.glob(f"{SET_ASIDE_PREFIX}*/*")]
    return names + sorted(files_of(manifest))


def pending_store(folder: Path, manifest: Manifest) -> Path | None:
    """The database of a version a build started and did not finish (it resumes there)."""
    current = max(generation_of(name) or 1 for name in files_of(manifest))
    found = [p for p in folder.glob("library-*.sqlite") if (generation_of(p.name) or 0) > current]
    return max(found, key=lambda p: generation_of(p.name) or 0, default=None)


def start_version(folder: Path, manifest: Manifest) -> Path:
    """The next version's database: a copy of the current one under the next generation's name
    (made under a temporary name, so that a copy cut short is never taken for a version)."""
    source = folder / manifest.store
    target = folder / store_file_name(next_generation(folder, manifest))
    partial = folder / f".{target.name}{_COPYING}"
    for stale in folder.glob(f".library-*.sqlite{_COPYING}"):
        stale.unlink()
    if _has_unfolded_journal(source):  # only SQLite itself reads the -wal's changes
        with closing(connect_read_only(source)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
    else:  # the fastest copy the system has (copy_file_range: a reflink or a server-side copy)
        shutil.copyfile(source, partial)
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return target


def manifest_stamp(folder: Path) -> tuple[int, int, int] | None:
    """What changes whenever the manifest is rewritten (it is replaced, so its inode changes):
    an open library compares it on each search to follow a new version."""
    try:
        st = (folder / MANIFEST_NAME).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def current_store_path(folder: str | Path) -> Path:
    """The database of the library's current version (what a connection of its own opens,
    read-only: ``Store(current_store_path(folder), read_only=True)``)."""
    folder = Path(folder)
    return folder / read_manifest(folder).store


def _has_unfolded_journal(path: Path) -> bool:
    wal = Path(f"{path}-wal")
    return wal.is_file() and wal.stat().st_size > 0


def remove_old_versions(folder: Path, keep: Iterable[str]) -> list[str]:
    """Delete the version files not in ``keep`` (with SQLite's files beside them); best effort,
    since one may still be open on Windows. Returns the names removed."""
    keep = set(keep)
    removed = []
    for path in version_files(folder):
        if path.name in keep:
            continue
        for extra in [path, *(Path(f"{path}{s}") for s in (*STORE_SIDE_FILES, "-journal"))]:
            try:
                extra.unlink()
            except FileNotFoundError:
                continue
            except OSError:
                break
            if extra == path:
                removed.append(path.name)
    return removed


def files_of(manifest: Manifest | None) -> set[str]:
    """The files a manifest names."""
    if manifest is None:
        return set()
    return {manifest.store} | ({manifest.index.file} if manifest.index else set())
