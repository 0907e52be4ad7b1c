"""Checking every file of a library and rebuilding the damaged ones (``cxrviewer library repair``,
also ``library build --repair``).

The checks: ``manifest.json`` parses and names only files inside the library; ``library.sqlite``
passes SQLite's ``integrity_check`` (every page read); the index file matches the manifest's
SHA-256, loads, and holds one vector per stored embedding. Damaged files are never deleted: they
are moved to ``<library>/damaged-<time>/`` and what they held is made again:

* the index alone: from the embeddings stored in ``library.sqlite`` (no dataset, no model);
* ``library.sqlite``: by building again from the datasets the manifest names (the index with it);
* the manifest: by building everything again from the dataset the user names, since nothing
  else records what the other files were built from (they are set aside too).

A library whose build had not finished is resumed. Everything is checked, and every dataset
folder found, before anything is moved: a repair that cannot rebuild changes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxrviewer.library.build import SET_ASIDE_PREFIX, BuildOptions, BuildProgress, BuildResult, build_library
from cxrviewer.library.errors import LibraryDamaged, LibraryError
from cxrviewer.library.locations import current_root
from cxrviewer.library.manifest import LABEL_ROUTE, MANIFEST_NAME, Manifest, read_manifest, write_manifest
from cxrviewer.library.publish import write_index
from cxrviewer.library.sqlite_access import STORE_SIDE_FILES, writable
from cxrviewer.library.store import STORE_NAME, Store
from cxrviewer.library.versions import generation_of, version_files


@dataclass(frozen=True)
class FileCheck:
    """One file of the library and what is wrong with it ("" when it is sound)."""

    path: str
    problem: str = ""

    @property
    def sound(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class RepairResult:
    folder: Path
    checks: tuple[FileCheck, ...]
    actions: tuple[str, ...] = ()  # what was done, in order, as sentences
    set_aside: Path | None = None  # where the damaged files now are
    moved: tuple[str, ...] = ()
    builds: tuple[BuildResult, ...] = field(default=(), repr=False)

    @property
    def repaired(self) -> bool:
        return bool(self.actions)

    def to_json(self) -> dict[str, Any]:
        return {
            "library": str(self.folder),
            "checks": [{"file": c.path, "sound": c.sound, "problem": c.problem} for c in self.checks],
            "repaired": self.repaired, "actions": list(self.actions),
            "set_aside": None if self.set_aside is None else str(self.set_aside),
            "moved": list(self.moved),
            "builds": [{"total": b.total, "added": b.added, "skipped": b.skipped,
                        "problem_count": len(b.problems)} for b in self.builds],
        }


@dataclass(frozen=True)
class _Found:
    manifest: Manifest | None
    manifest_check: FileCheck
    store_check: FileCheck
    index_check: FileCheck | None


def check_library(folder: Path) -> tuple[Manifest | None, tuple[FileCheck, ...]]:
    """Every file of the library at ``folder`` checked (nothing is changed)."""
    found = _check(Path(folder))
    checks = (found.manifest_check, found.store_check) + ((found.index_check,) if found.index_check else ())
    return found.manifest, checks


def repair_library(folder: Path, dataset: str = "", root: Path | None = None, encoder: str = "",
                   workers: int | None = None, device: str | None = None,
                   progress: Callable[[BuildProgress], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> RepairResult:
    """Check the library at ``folder`` and rebuild what is damaged (see the module's docstring).
    ``dataset``/``root`` name where a dataset is now (needed when the manifest is damaged);
    ``encoder`` the model to rebuild a damaged manifest's library with."""
    folder = Path(folder)
    found = _check(folder)
    checks = (found.manifest_check, found.store_check) + ((found.index_check,) if found.index_check else ())
    manifest = found.manifest
    if manifest is None:
        if not (dataset and root is not None):
            raise LibraryError(folder / MANIFEST_NAME,
                               f"{found.manifest_check.problem}; nothing else records what the library was "
                               f"built from: give --dataset and --root (and --encoder MODEL for a model "
                               f"route) to rebuild it")
        plan = [(dataset, Path(root))]
        what = "the manifest is damaged: every file is rebuilt from the dataset"
        names = _library_files(folder)
    elif not found.store_check.sound:
        plan = _sources(folder, manifest, dataset, root)
        what = f"{manifest.store} is damaged: it is rebuilt from the dataset"
        names = [n for n in _library_files(folder) if n != MANIFEST_NAME]
    elif found.index_check is not None and not found.index_check.sound:
        plan = []
        what = f"the index is damaged: it is rebuilt from the vectors in {manifest.store}"
        names = [manifest.index.file] if manifest.index and (folder / manifest.index.file).is_file() else []
    elif manifest.state != "ready":
        plan = _sources(folder, manifest, dataset, root)
        what = "the library's build had not finished: it is resumed"
        names = []
    else:
        return RepairResult(folder, checks)
    if not writable(folder / (manifest.store if manifest else STORE_NAME)):
        raise LibraryError(folder, "this account cannot write the library folder, so it cannot be repaired here")
    actions = [what]
    aside, moved = _set_aside(folder, names) if names else (None, ())
    if moved:
        actions.append(f"moved the damaged files to {aside}: {', '.join(moved)}")
    builds: list[BuildResult] = []
    if manifest is not None and plan and names:  # library.sqlite goes: so do its counts and index
        write_manifest(folder, manifest.touched(index=None, counts={}, state="building"))
    if not plan:
        assert manifest is not None
        actions.append(_reindex(folder, manifest))
    for source_dataset, source_root in plan:
        options = BuildOptions(
            source_dataset, source_root, folder, name=manifest.name if manifest else "", workers=workers,
            encoder=_encoder_of(manifest) if manifest else encoder, device=device,
            thumb_size=int(manifest.preprocessing.get("thumbnail", 256)) if manifest else 256,
            index_kind=manifest.index.kind if manifest and manifest.index else "auto",
            synthetic=manifest.synthetic if manifest else source_dataset == "demo")
        result = build_library(options, progress=progress, should_cancel=should_cancel)
        builds.append(result)
        actions.append(f"built from {source_dataset} at {source_root}: {result.total} cases "
                       f"({result.added} added, {result.skipped} images unusable)")
    return RepairResult(folder, checks, tuple(actions), aside, moved, tuple(builds))


# -- checks ------------------------------------------------------------------------------------


def _check(folder: Path) -> _Found:
    if not folder.is_dir():
        raise LibraryError(folder, "no such library folder")
    manifest_path, store_path = folder / MANIFEST_NAME, _newest_store(folder)
    if not manifest_path.exists() and not store_path.exists():
        raise LibraryError(folder, "not a cxrviewer library (no manifest.json, no library.sqlite)")
    manifest: Manifest | None = None
    try:
        manifest = read_manifest(folder)
        manifest_check = FileCheck(str(manifest_path))
    except LibraryDamaged as exc:
        manifest_check = FileCheck(str(manifest_path), _without_advice(exc.reason))
    except LibraryError:
        if manifest_path.exists():  # unreadable, another format version: not ours to change
            raise
        manifest_check = FileCheck(str(manifest_path), "manifest.json is missing")
    if manifest is not None:
        store_path = folder / manifest.store
    store_check, embeddings = _check_store(store_path)
    index_check = _check_index(folder, manifest, embeddings) if manifest is not None else None
    return _Found(manifest, manifest_check, store_check, index_check)


def _check_store(path: Path) -> tuple[FileCheck, int | None]:
    """The database's check, and how many embeddings it holds (None when damaged)."""
    if not path.is_file():
        return FileCheck(str(path), f"{path.name} is missing"), None
    try:
        store = Store(path, read_only=True)
    except LibraryDamaged as exc:
        return FileCheck(str(path), _without_advice(exc.reason)), None
    try:
        problem = store.check(thorough=True)
        if problem:
            return FileCheck(str(path), f"damaged ({problem})"), None
        try:
            return FileCheck(str(path)), store.embedding_count()
        except LibraryDamaged as exc:
            return FileCheck(str(path), _without_advice(exc.reason)), None
    finally:
        store.close()


def _without_advice(reason: str) -> str:
    """A damage message without its "repair the library with ..." (this is the repair)."""
    return reason.split("; repair the library with")[0]


def _check_index(folder: Path, manifest: Manifest, embeddings: int | None) -> FileCheck | None:
    if manifest.route == LABEL_ROUTE:
        return None
    info = manifest.index
    if info is None:
        if manifest.state != "ready":
            return None  # written at the end of the build the repair resumes
        return FileCheck(str(folder / MANIFEST_NAME), "the manifest names no index file")
    from cxrviewer.library.index_files import load_index

    path = folder / info.file
    try:
        load_index(folder, info, always_hash=True)
    except LibraryDamaged as exc:
        return FileCheck(exc.path, _without_advice(exc.reason))
    if embeddings is not None and embeddings != info.count:
        return FileCheck(str(path), f"the index holds {info.count} vectors, {manifest.store} {embeddings}")
    return FileCheck(str(path))


# -- repairs -----------------------------------------------------------------------------------


def _sources(folder: Path, manifest: Manifest, dataset: str, root: Path | None) -> list[tuple[str, Path]]:
    """(dataset, folder now) of every source; a given ``dataset``/``root`` stands for the
    manifest's source of that dataset. A dataset that is not there stops the repair here."""
    plan: list[tuple[str, Path]] = []
    for source in manifest.sources:
        if dataset and root is not None and source.get("dataset") == dataset:
            continue
        now = current_root(folder, source)
        if now is None:
            raise LibraryError(source.get("root", "?"), f"the {source.get('dataset')} dataset this library was built "
                                                        f"from is not there, so library.sqlite cannot be rebuilt; "
                                                        f"give --dataset and --root to say where it is now")
        plan.append((source.get("dataset", ""), now))
    if dataset and root is not None:
        plan.append((dataset, Path(root)))
    if not plan:
        raise LibraryError(folder / MANIFEST_NAME, "the manifest names no dataset to rebuild from; give --dataset "
                                                   "and --root")
    return plan


def _encoder_of(manifest: Manifest) -> str:
    """The model the library was built with: its folder as recorded when it is still there
    (a model imported from a folder has no registry name elsewhere), else its name."""
    if manifest.route == LABEL_ROUTE:
        return ""
    path = manifest.preprocessing.get("encoder", {}).get("path", "")
    from cxrviewer.models import ModelError
    from cxrviewer.models.encoders import resolve_spec

    try:
        resolve_spec(manifest.route)
        return manifest.route
    except ModelError:
        return path if path and Path(path).is_dir() else manifest.route


def _reindex(folder: Path, manifest: Manifest) -> str:
    store = Store(folder / manifest.store, read_only=True)  # only read: readers may have it open
    try:
        kind = manifest.index.kind if manifest.index else "auto"
        updated = write_index(folder, store, manifest, kind)
    finally:
        store.close()
    write_manifest(folder, updated.touched(state=manifest.state))
    assert updated.index is not None
    return f"wrote a new index, {updated.index.file}, of {updated.index.count} vectors"


def _library_files(folder: Path) -> list[str]:
    """The manifest and every version's files (with SQLite's files beside the databases)."""
    files = [p.name for p in version_files(folder)]
    stores = [n for n in files if n.endswith(".sqlite")]
    names = [MANIFEST_NAME, *stores, *(n + s for n in stores for s in (*STORE_SIDE_FILES, "-journal"))]
    return [n for n in names if (folder / n).exists()] + [n for n in files if n.endswith(".faiss")]


def _newest_store(folder: Path) -> Path:
    """The database of the newest version present (what a damaged manifest probably named)."""
    stores = [p for p in version_files(folder) if p.name.endswith(".sqlite")]
    return max(stores, key=lambda p: generation_of(p.name) or 0, default=folder / STORE_NAME)


def _set_aside(folder: Path, names: list[str]) -> tuple[Path, tuple[str, ...]]:
    """Move ``names`` into a new ``damaged-<time>`` folder inside the library (a rename: the
    same file system, nothing copied or lost)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = folder / f"{SET_ASIDE_PREFIX}{stamp}"
    n = 1
    while aside.exists():
        n += 1
        aside = folder / f"{SET_ASIDE_PREFIX}{stamp}-{n}"
    aside.mkdir()
    moved = []
    for name in names:
        if (folder / name).exists():
            os.replace(folder / name, aside / name)
            moved.append(name)
    return aside, tuple(moved)
