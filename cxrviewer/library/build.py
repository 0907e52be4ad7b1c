"""Building a library from a dataset: resumable, atomic, with progress and cancel.

Cases are written to SQLite in batches, one transaction each, so a build killed at any point
(``kill -9`` included) keeps every finished batch; running the same build again skips the cases
already stored and goes on. A finished library can be extended the same way with more cases.
Images are decoded in worker processes (decoding is the slow part and holds the GIL in
places), while this process labels reports and writes.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from cxrviewer.datasets.case import Case, DatasetError, DatasetProblem
from cxrviewer.library import versions
from cxrviewer.library.build_images import ImagePool, store_images
from cxrviewer.library.build_types import (
    BuildCancelled,
    BuildOptions,
    BuildProgress,
    BuildResult,
    CancelFn,
    ProgressFn,
)
from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice
from cxrviewer.library.locations import same_source, source_entry
from cxrviewer.library.manifest import (
    LABEL_ROUTE,
    MANIFEST_NAME,
    Manifest,
    now_iso,
    read_manifest,
    write_manifest,
)
from cxrviewer.library.publish import publish_version
from cxrviewer.library.sqlite_access import STORE_SIDE_FILES
from cxrviewer.library.store import STORE_NAME, Store

LABEL_DIM = 0  # the label route has no vectors: it scores finding patterns (label_route.py)
SET_ASIDE_PREFIX = versions.SET_ASIDE_PREFIX  # a repair keeps damaged files in <library>/damaged-<time>/
__all__ = ["BuildCancelled", "BuildOptions", "BuildProgress", "BuildResult", "CancelFn", "ProgressFn",
           "build_library", "read_dataset"]


def build_library(options: BuildOptions, progress: ProgressFn | None = None,
                  should_cancel: CancelFn | None = None) -> BuildResult:
    """Build (or resume, or extend) the library at ``options.out`` from a dataset.

    A new library whose build fails before it stored a case is removed again (a folder with a
    manifest would look like a library); one that stored cases is kept for the next run to
    resume. An existing library is checked first: a damaged index or database is reported with
    the way to repair it rather than built upon.
    """
    started = time.perf_counter()
    report = progress or (lambda p: None)
    cancelled = should_cancel or (lambda: False)
    folder = Path(options.out)
    # Films are stored by absolute path: a relative root means the same folder from any working
    # folder the library is opened from later (see library.locations).
    options = dataclasses.replace(options, root=Path(options.root).resolve())
    encoder = load_build_encoder(options, report)
    new_library = not (folder / MANIFEST_NAME).exists()
    new_folder = not folder.exists()
    try:
        return _build(folder, options, encoder, report, cancelled, started)
    except OSError as exc:
        _remove_if_empty(folder, new_library, new_folder)
        raise LibraryError(exc.filename or folder, f"cannot build the library here "
                                                   f"({exc.strerror or exc})") from None
    except BaseException:
        _remove_if_empty(folder, new_library, new_folder)
        raise


def _build(folder: Path, options: BuildOptions, encoder: Any, report: ProgressFn, cancelled: CancelFn,
           started: float) -> BuildResult:
    manifest, resumed = open_or_create(folder, options, encoder, report)
    pool = ImagePool(options.workers)
    store: Store | None = None
    try:
        report(BuildProgress("reading", 0, 0, f"reading {options.dataset} at {options.root}"))
        cases, problems = read_dataset(options.dataset, Path(options.root), options.limit)
        versioned = manifest.state == "ready"  # its files are never changed: see library.versions
        if versioned:
            pending = versions.pending_store(folder, manifest)
            resumed = pending is not None
            known = _known_case_ids(pending or folder / manifest.store)
            todo = [c for c in cases if c.case_id not in known]
            if not todo and pending is None:  # nothing to add: no new version
                if manifest.sources != _read_sources(folder):
                    write_manifest(folder, manifest.touched())
                counts = _counts(folder / manifest.store)
                return BuildResult(folder, 0, 0, counts["cases"], False, time.perf_counter() - started,
                                   tuple(problems))
            if pending is None:
                report(BuildProgress("reading", 0, 0, f"copying {manifest.store} to a new version"))
            store = Store(pending or versions.start_version(folder, manifest), create=True)
        else:
            store = Store(folder / manifest.store, create=True)
            known = store.known_case_ids()
            todo = [c for c in cases if c.case_id not in known]
        store.clear_problems()
        store.add_problems(problems)
        added, skipped, span = store_images(store, pool, encoder, todo, options, report, cancelled)
        report(BuildProgress("finishing", len(todo), len(todo), "writing the index"))
        manifest = publish_version(folder, store, manifest, kind=options.index_kind, embedded=encoder is not None,
                                   reindex=bool(added) or versioned)
        return BuildResult(folder, added, skipped, manifest.counts["cases"], resumed,
                           time.perf_counter() - started, tuple(problems), span)
    finally:
        pool.close()
        if store is not None:
            store.close()


def _known_case_ids(path: Path) -> set[str]:
    store = Store(path, read_only=True)
    try:
        return store.known_case_ids()
    finally:
        store.close()


def _counts(path: Path) -> dict[str, int]:
    store = Store(path, read_only=True)
    try:
        return store.counts()
    finally:
        store.close()


def _read_sources(folder: Path) -> tuple[dict[str, str], ...]:
    return read_manifest(folder).sources


def _check_existing(folder: Path, manifest: Manifest, report: ProgressFn) -> None:
    """Refuse to build on a damaged library, before anything in it is changed: the build would
    add nothing, say "ready" and leave the damage in place. The message names the damaged file
    and the repair (``library repair``)."""
    from cxrviewer.library.index_files import verify_index_file

    report(BuildProgress("reading", 0, 0, f"checking {folder}"))
    if (folder / manifest.store).exists():
        store = Store(folder / manifest.store, read_only=manifest.state == "ready")
        try:
            problem = store.check(thorough=False)
        finally:
            store.close()
        if problem:
            raise LibraryDamaged(store.path, f"the library's metadata file is damaged ({problem}); "
                                             f"{repair_advice(folder)}")
    if manifest.index is not None:
        verify_index_file(folder, manifest.index)


def _remove_if_empty(folder: Path, new_library: bool, new_folder: bool) -> None:
    """Take back what a failed build of a new library made, unless it stored cases (then a
    rerun resumes it). Only the library's own files are removed, never the folder's others."""
    if not new_library or not (folder / MANIFEST_NAME).exists():
        return
    if _stored_cases(folder / STORE_NAME):
        return
    names = [MANIFEST_NAME, STORE_NAME, *(STORE_NAME + s for s in (*STORE_SIDE_FILES, "-journal"))]
    for path in [*(folder / n for n in names), *folder.glob("index-*.faiss"), *folder.glob(".*.tmp")]:
        try:
            path.unlink()
        except OSError:
            pass
    if new_folder:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


def _stored_cases(path: Path) -> int:
    import sqlite3

    if not path.is_file():
        return 0
    try:
        with closing(sqlite3.connect(path)) as db:
            return int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])
    except sqlite3.Error:
        return 0


def read_dataset(dataset: str, root: Path, limit: int | None = None
                 ) -> tuple[list[Case], list[DatasetProblem]]:
    """All usable cases of a dataset and the problems met; a wrong root is a LibraryError."""
    from cxrviewer.datasets.registry import DATASETS, adapter_for

    problems: list[DatasetProblem] = []
    try:
        adapter = adapter_for(dataset)
        if not root.is_dir():
            raise DatasetError(f"{root}: no such folder")
        cases: list[Case] = []
        for case in adapter.iter_cases(root, problems.append):
            cases.append(case)
            if limit is not None and len(cases) >= limit:
                break
    except DatasetError as exc:
        expected = DATASETS[dataset].expected if dataset in DATASETS else ""
        hint = f" (expected: {expected})" if expected and expected not in str(exc) else ""
        raise LibraryError(root, f"{exc}{hint}") from None
    if not cases:
        raise LibraryError(root, f"no usable {dataset} cases found here"
                                 + (f" (expected: {DATASETS[dataset].expected})" if dataset in DATASETS else "")
                                 + (f"; {len(problems)} problems, first: {problems[0]}" if problems else ""))
    return cases, problems


def load_build_encoder(options: BuildOptions, report: ProgressFn) -> Any:
    if not options.encoder:
        return None
    from cxrviewer.models import ModelError
    from cxrviewer.models.encoders import load_encoder

    report(BuildProgress("reading", 0, 0, f"loading encoder {options.encoder}"))
    try:
        encoder = load_encoder(options.encoder, device=options.device)
    except ModelError as exc:
        raise LibraryError(options.encoder, str(exc)) from None
    from cxrviewer.models.classify import film_domain

    refusal = encoder.card.refusal(film_domain(options.synthetic), encoder.spec.name)
    if refusal:  # its vectors of these films would rank them with no validity at all
        raise LibraryError(options.root, f"cannot build with encoder {encoder.spec.name!r}: {refusal}s; "
                                         "build without --encoder (the findings route), or with a model "
                                         "made for real chest films")
    return encoder


def route_of(encoder: Any) -> tuple[str, int, dict[str, Any]]:
    if encoder is None:
        return LABEL_ROUTE, LABEL_DIM, {}
    from cxrviewer.models import ModelError
    from cxrviewer.models.registry import weights_fingerprint

    spec = encoder.spec
    try:
        fingerprint = weights_fingerprint(spec.local_path())
    except ModelError as exc:
        raise LibraryError(spec.local_path(), str(exc)) from None
    return spec.name, int(encoder.embed_dim), {
        "encoder": {"name": spec.name, "path": str(spec.local_path()), "format": spec.format,
                    "input_size": spec.input_size, "mean": list(spec.mean), "std": list(spec.std),
                    "fingerprint": fingerprint},
        "model_input": f"default window, uint8, fitted to the square input: {spec.film_fit}"}


def open_or_create(folder: Path, options: BuildOptions, encoder: Any,
                    report: ProgressFn) -> tuple[Manifest, bool]:
    """The manifest to build under: an existing library of the same route, and undamaged, is
    resumed or extended; anything else in the folder is refused, never overwritten."""
    source = source_entry(options.dataset, Path(options.root), folder)
    route, dim, encoder_info = route_of(encoder)
    if (folder / MANIFEST_NAME).exists():
        manifest = read_manifest(folder)
        check_can_extend(folder, manifest, encoder, report)
        resumed = manifest.state == "building"
        others = tuple(s for s in manifest.sources if not same_source(s, source))
        if source not in manifest.sources:  # new, or its root relative to the library changed
            manifest = manifest.touched(sources=(*others, source))
        if resumed:  # a finished library's manifest changes only with the new version (_build)
            write_manifest(folder, manifest)
        return manifest, resumed
    check_can_create(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now_iso()
    manifest = Manifest(name=options.name or folder.name, route=route, dim=dim,
                        preprocessing={"thumbnail": options.thumb_size, "thumbnail_format": "JPEG q85",
                                       "window": "file default or percentile auto", **encoder_info},
                        sources=(source,), synthetic=options.synthetic, created=stamp, updated=stamp)
    write_manifest(folder, manifest)
    return manifest, False


def check_can_extend(folder: Path, manifest: Manifest, encoder: Any, report: ProgressFn) -> None:
    """Refuse to add to a library of another route or other weights, or a damaged one; nothing
    in the folder is changed."""
    route, dim, encoder_info = route_of(encoder)
    if (manifest.route, manifest.dim) != (route, dim):
        built = "the label route" if manifest.route == LABEL_ROUTE else f"encoder {manifest.route!r}"
        asked = "the label route" if route == LABEL_ROUTE else f"encoder {route!r}"
        raise LibraryError(folder / MANIFEST_NAME,
                           f"this library was built with {built}, not {asked}; build into "
                           f"another folder (this one is left as it is)")
    built_with = manifest.preprocessing.get("encoder", {}).get("fingerprint")
    if built_with and built_with != encoder_info["encoder"]["fingerprint"]:
        raise LibraryError(folder / MANIFEST_NAME,
                           f"this library was built with other weights for encoder {route!r} than "
                           f"those in {encoder_info['encoder']['path']}; its vectors and new ones "
                           f"would not compare. Build into another folder (this one is left as it is)")
    _check_existing(folder, manifest, report)


def check_can_create(folder: Path) -> None:
    """A new library goes into a new or empty folder (or one holding only set-aside files)."""
    if folder.exists() and any(not p.name.startswith(SET_ASIDE_PREFIX) for p in folder.iterdir()):
        raise LibraryError(folder, "the folder is not empty and is not a cxrviewer library; "
                                   "choose an empty or new folder")
