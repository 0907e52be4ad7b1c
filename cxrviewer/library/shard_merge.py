"""Merging a distributed build's shard files into its library: all of them or none.

The library itself is not touched while shards are made. The cases are then written by the
local build's own write path (``Store.add_batch`` per shard, in case order, so rows match a
local build of the same cases; ``publish.publish_version``: the index, the manifest last).

A finished library gets them as a new version beside its current one, like a local build that
extends it (``library.versions``): readers keep searching the old version and follow the
manifest; a merge that fails removes its version's files and leaves the library as it was.
A new library (or one whose own build did not finish) is written in a staging folder beside it
and put in its place in one step: on Linux the two folders are exchanged atomically
(``renameat2(RENAME_EXCHANGE)``); elsewhere the old folder is renamed aside first, leaving a
moment in which no library is there (never a half-merged one).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.datasets.case import Case, DatasetProblem
from cxrviewer.library import versions
from cxrviewer.library.build import BuildOptions, BuildProgress, ProgressFn, open_or_create, route_of
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.locations import same_source, source_entry
from cxrviewer.library.manifest import MANIFEST_NAME, Manifest, read_manifest, write_manifest
from cxrviewer.library.publish import publish_version
from cxrviewer.library.shards import ShardError, ShardPlan, read_shard
from cxrviewer.library.sqlite_access import STORE_SIDE_FILES
from cxrviewer.library.store import FindingDetail, PreparedCase, Store, encode_vector

OLD_SUFFIX = ".replaced"


@dataclass(frozen=True)
class MergeResult:
    manifest: Manifest
    added: int
    skipped: int
    resumed: bool


def merge_shards(folder: Path, options: BuildOptions, encoder: Any, plans: Sequence[ShardPlan],
                 shards_dir: Path, staging: Path, cases: Mapping[str, Case],
                 problems: Sequence[DatasetProblem], report: ProgressFn) -> MergeResult:
    """Add the shards' cases to the library ``folder``: as a new version of a finished library,
    else by building it in ``staging`` and swapping that in (see the module's docstring)."""
    if (folder / MANIFEST_NAME).exists() and read_manifest(folder).state == "ready":
        return _merge_as_new_version(folder, options, encoder, plans, shards_dir, cases, problems, report)
    if staging.exists():
        shutil.rmtree(staging)  # a merge that stopped part-way: start it again
    if (folder / MANIFEST_NAME).exists():
        _copy_library(folder, staging)
    manifest, resumed = open_or_create(staging, options, encoder, report)
    manifest = _sources_from(folder, manifest, options)
    write_manifest(staging, manifest)
    store = Store(staging / manifest.store, create=True)
    try:
        added, skipped = _add_shards(store, encoder, plans, shards_dir, cases, problems, report)
        manifest = publish_version(staging, store, manifest, kind=options.index_kind,
                                   embedded=encoder is not None, reindex=bool(added))
    finally:
        store.close()
    swap_in(staging, folder)
    return MergeResult(manifest, added, skipped, resumed)


def _merge_as_new_version(folder: Path, options: BuildOptions, encoder: Any, plans: Sequence[ShardPlan],
                          shards_dir: Path, cases: Mapping[str, Case], problems: Sequence[DatasetProblem],
                          report: ProgressFn) -> MergeResult:
    manifest, _ = open_or_create(folder, options, encoder, report)  # checked; sources updated, not written
    if not plans:  # nothing to add: no new version (as a local build)
        if manifest.sources != read_manifest(folder).sources:
            write_manifest(folder, manifest.touched())
        return MergeResult(read_manifest(folder), 0, 0, False)
    report(BuildProgress("finishing", 0, len(plans), f"copying {manifest.store} to a new version"))
    store = Store(versions.start_version(folder, manifest), create=True)
    try:
        added, skipped = _add_shards(store, encoder, plans, shards_dir, cases, problems, report)
        published = publish_version(folder, store, manifest, kind=options.index_kind,
                                    embedded=encoder is not None, reindex=True)
    except BaseException:
        store.close()
        if read_manifest(folder).store != store.path.name:  # not published: never half-merged
            _discard_version(folder, store.path.name)
        raise
    return MergeResult(published, added, skipped, False)


def _add_shards(store: Store, encoder: Any, plans: Sequence[ShardPlan], shards_dir: Path,
                cases: Mapping[str, Case], problems: Sequence[DatasetProblem],
                report: ProgressFn) -> tuple[int, int]:
    fingerprint = route_of(encoder)[2].get("encoder", {}).get("fingerprint", "")
    added = skipped = 0
    store.clear_problems()
    store.add_problems(problems)
    for n, plan in enumerate(plans, start=1):
        batch, unusable = _shard_cases(shards_dir, plan, cases, fingerprint, encoder is not None)
        store.add_batch(batch, unusable)
        added += len(batch)
        skipped += len(unusable)
        report(BuildProgress("finishing", n, len(plans), "merging shards"))
    return added, skipped


def _discard_version(folder: Path, store_name: str) -> None:
    """Remove the files of a version that was never published (its database and index)."""
    generation = versions.generation_of(store_name)
    for path in versions.version_files(folder):
        if versions.generation_of(path.name) == generation:
            for name in (path.name, *(path.name + s for s in (*STORE_SIDE_FILES, "-journal"))):
                (folder / name).unlink(missing_ok=True)


def _copy_library(folder: Path, target: Path) -> None:
    """A consistent copy of the library's own files (SQLite's backup, not a file copy, so a
    reader's open WAL does not matter)."""
    manifest = read_manifest(folder)
    target.mkdir(parents=True)
    shutil.copy2(folder / MANIFEST_NAME, target / MANIFEST_NAME)
    if manifest.index is not None:
        shutil.copy2(folder / manifest.index.file, target / manifest.index.file)
    source = Store(folder / manifest.store)
    try:
        import sqlite3

        copy = sqlite3.connect(target / manifest.store)
        try:
            source.db.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _sources_from(folder: Path, manifest: Manifest, options: BuildOptions) -> Manifest:
    """The dataset's root as seen from the library's own folder, not from the staging one."""
    real = source_entry(options.dataset, Path(options.root), folder)
    sources = tuple(real if same_source(s, real) else s for s in manifest.sources)
    return dataclasses.replace(manifest, sources=sources)


def _shard_cases(shards_dir: Path, plan: ShardPlan, cases: Mapping[str, Case], fingerprint: str,
                 embedded: bool) -> tuple[list[PreparedCase], list[tuple[str, str, str]]]:
    path = shards_dir / plan.file_name
    try:
        shard = read_shard(path, plan)
    except ShardError as exc:
        raise LibraryError(path, f"{exc}; run the build again to make this shard anew") from None
    if embedded and (shard.vectors is None or shard.fingerprint != fingerprint):
        path.unlink(missing_ok=True)
        raise LibraryError(path, "this shard was encoded with other weights than the library's "
                                 "(every worker must see the same model folder); it was removed: "
                                 "run the build again to make it anew")
    vectors = iter(shard.vectors) if embedded and shard.vectors is not None else None
    batch: list[PreparedCase] = []
    unusable: list[tuple[str, str, str]] = []
    for case_id, image in zip(shard.case_ids, shard.images):
        case = cases[case_id]
        if image.error:
            unusable.append((case_id, case.image, image.error))
            continue
        details = {label: FindingDetail(severity, laterality) for label, severity, laterality in image.details}
        embedding = encode_vector(np.asarray(next(vectors), np.float32)) if vectors is not None else None
        batch.append(PreparedCase(case, details, image.jpeg, image.size, embedding=embedding))
    return batch, unusable


def _library_entry(name: str) -> bool:
    """A file a build writes (replaced by the merged library); anything else stays."""
    database = name.removesuffix("-journal")
    for suffix in STORE_SIDE_FILES:
        database = database.removesuffix(suffix)
    return (name == MANIFEST_NAME or versions.generation_of(database) is not None
            or (name.startswith(".") and name.endswith((".tmp", ".copying"))))


def swap_in(staged: Path, folder: Path) -> None:
    """Put the finished library ``staged`` where ``folder`` is; what else ``folder`` held (a
    repair's set-aside files) moves along, the old library's files are deleted."""
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, folder)
        return
    old = staged.with_name(staged.name + OLD_SUFFIX)
    if old.exists():
        shutil.rmtree(old)
    if exchange(staged, folder):
        os.rename(staged, old)
    else:
        os.rename(folder, old)
        try:
            os.rename(staged, folder)
        except OSError:
            os.rename(old, folder)
            raise
    for entry in old.iterdir():
        if not _library_entry(entry.name):
            os.rename(entry, folder / entry.name)
    shutil.rmtree(old, ignore_errors=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step where the system can (Linux ``renameat2``); False where it
    cannot, having changed nothing."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel, or a file system without it
    raise OSError(code, os.strerror(code), os.fspath(a), None, os.fspath(b))
