"""Finishing a version of a library: its index written beside it, its database folded into one
file, the manifest rewritten to name both (the swap readers follow), and older versions removed.

The local build (``build``), a repair (``repair``) and a Ray build's merge (``shard_merge``) all
end here, so every writer publishes a version the same way (see ``versions`` for the files and
the rule for removing old ones).
"""

from __future__ import annotations

from pathlib import Path

from cxrviewer.library import versions
from cxrviewer.library.manifest import IndexInfo, Manifest, write_manifest
from cxrviewer.library.store import Store


def index_stored_vectors(folder: Path, store: Store, manifest: Manifest, kind: str,
                         generation: int | None = None) -> IndexInfo:
    """Index every embedding in ``store`` under a new versioned file (``generation``, or the
    next one); the caller points the manifest at it."""
    from cxrviewer.library.index import build_index
    from cxrviewer.library.index_files import save_index

    rows, vectors = store.vectors(manifest.dim)
    index = build_index(vectors, rows, kind)
    del vectors
    return save_index(folder, index, generation or versions.index_generation(folder, manifest))


def publish_version(folder: Path, store: Store, manifest: Manifest, *, kind: str, embedded: bool,
                    reindex: bool) -> Manifest:
    """Make what ``store`` holds the library's current version and close ``store``.

    The index is written first (when the library has vectors and ``reindex`` asks, or it has
    none yet), under the generation of a new database, then the database is folded (no ``-wal``
    for readers that open it immutable), then the manifest is replaced in one step: a reader sees
    the old version or the new one, whole. The version before stays for readers still on it."""
    index = manifest.index
    if embedded and (reindex or index is None):
        new_store = store.path.name != manifest.store
        generation = versions.generation_of(store.path.name) if new_store else None
        index = index_stored_vectors(folder, store, manifest, kind, generation)
    counts = store.counts()
    store.finish()
    updated = manifest.touched(state="ready", counts=counts, store=store.path.name, index=index)
    write_manifest(folder, updated)  # the swap: readers follow from their next search
    versions.remove_old_versions(folder, versions.files_of(updated) | versions.files_of(manifest))
    return updated


def write_index(folder: Path, store: Store, manifest: Manifest, kind: str) -> Manifest:
    """Index every stored embedding under a new versioned file, then point the manifest at it
    (a repair: the database stays, the index is new) and remove index files of older versions."""
    info = index_stored_vectors(folder, store, manifest, kind)
    updated = manifest.touched(index=info)
    write_manifest(folder, updated)
    versions.remove_old_versions(folder, versions.files_of(updated) | versions.files_of(manifest))
    return updated
