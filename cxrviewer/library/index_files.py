"""Index files: written once under a versioned name, checked by SHA-256, opened memory-mapped.

faiss's own file functions keep no checksum (flipped bytes mostly load and search silently) and
use narrow-char paths on Windows, so the index is serialised to bytes and written by Python, with
its SHA-256 kept in the manifest. A file is never rewritten once written (rewriting a file
another process has mapped kills that process with SIGBUS): a new index gets a new name.

Opening maps the file (``IO_FLAG_MMAP_IFC``: every kind used here maps without copying, a 1M
index opens in milliseconds and its pages are shared by every process on the machine) where
the platform allows, and reads it into memory elsewhere (Windows).

Hashing a multi-GB index on every open would cost seconds (and, from a network folder, the whole
file over the network each time). So a file is hashed in full on its first open by this account
and whenever its size, modification time, inode or device changed since; the identity of files
that passed is remembered in the user's cache folder (never in the library folder, which may be
read-only). A file modified within ``RACY_SECONDS`` of being checked is not remembered (git's
"racily clean" rule: a quick rewrite may keep the time stamp). What this does not catch: a byte
flipped on disk without the file's time stamp changing (bit rot), which ``library repair`` still
finds, as it always hashes in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.fileio import atomic_write_bytes, atomic_write_text
from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice
from cxrviewer.library.index import VectorIndex, _faiss
from cxrviewer.library.manifest import MANIFEST_NAME, IndexInfo, is_plain_file_name

VERIFIED_CACHE = "verified-index-files.json"
RACY_SECONDS = 2.0
MAX_REMEMBERED = 200
_CHUNK = 8 << 20


def index_file_name(generation: int) -> str:
    return f"index-{generation:06d}.faiss"


def save_index(folder: Path, index: VectorIndex, generation: int) -> IndexInfo:
    """Write ``index-<generation>.faiss`` atomically; the caller points the manifest at it."""
    faiss = _faiss()
    data = faiss.serialize_index(index.index)  # a uint8 array: written without another copy
    name = index_file_name(generation)
    atomic_write_bytes(folder / name, memoryview(data))
    return IndexInfo(name, index.kind, hashlib.sha256(memoryview(data)).hexdigest(), index.count,
                     dict(index.params))


def load_index(folder: Path, info: IndexInfo, *, always_hash: bool = False) -> VectorIndex:
    """Open and verify the index the manifest names (memory-mapped where possible)."""
    faiss = _faiss()
    path = index_path(folder, info)
    data = None
    if os.name == "nt":  # faiss maps files only on POSIX, and opens narrow-char paths
        data = _read(path)
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise _hash_mismatch(folder, path)
    else:
        verify_index_file(folder, info, always=always_hash)
    try:
        if data is None:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        else:
            index = faiss.deserialize_index(np.frombuffer(data, np.uint8))
    except RuntimeError as exc:
        raise LibraryDamaged(path, f"the index file cannot be loaded ({str(exc).splitlines()[0]}); "
                                   f"{repair_advice(folder)}") from None
    if index.ntotal != info.count:
        raise LibraryDamaged(path, f"the index holds {index.ntotal} vectors, the manifest says {info.count}; "
                                   f"{repair_advice(folder)}")
    try:
        return VectorIndex(index, info.kind, info.params)
    except ValueError as exc:
        raise LibraryDamaged(path, f"the index file cannot be used ({exc}); {repair_advice(folder)}") from None


def index_path(folder: Path, info: IndexInfo) -> Path:
    """The index file's path, once its name is known to stay in the library folder."""
    if not is_plain_file_name(info.file):
        raise LibraryDamaged(folder / MANIFEST_NAME, f"the manifest names the index file {info.file!r}, "
                                                     f"which is not a file in the library folder; "
                                                     f"{repair_advice(folder)}")
    return folder / info.file


def verify_index_file(folder: Path, info: IndexInfo, *, always: bool = False) -> bool:
    """Check the index file's SHA-256 against the manifest's, unless this account checked this
    very file before (see the module's docstring) and ``always`` is false. True when it hashed."""
    path = index_path(folder, info)
    identity = _identity(path)
    key = os.path.abspath(path)
    if not always and _remembered().get(key) == {"sha256": info.sha256, "file": identity}:
        return False
    if _sha256_of(path) != info.sha256:
        raise _hash_mismatch(folder, path)
    if time.time() - identity[1] / 1e9 > RACY_SECONDS and _identity(path) == identity:
        _remember(key, {"sha256": info.sha256, "file": identity})
    return True


def _identity(path: Path) -> list[int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise LibraryDamaged(path, f"the index file the manifest names is missing; "
                                   f"{repair_advice(path.parent)}") from None
    except OSError as exc:
        raise LibraryError(path, f"the index file cannot be read ({exc.strerror})") from None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LibraryDamaged(path, f"the index file the manifest names is missing; "
                                   f"{repair_advice(path.parent)}") from None
    except OSError as exc:
        raise LibraryError(path, f"the index file cannot be read ({exc.strerror})") from None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    try:
        with open(path, "rb", buffering=0) as handle:
            while True:
                n = handle.readinto(buffer)
                if not n:
                    break
                digest.update(view[:n])
    except OSError as exc:
        raise LibraryError(path, f"the index file cannot be read ({exc.strerror})") from None
    return digest.hexdigest()


def _hash_mismatch(folder: Path, path: Path) -> LibraryDamaged:
    return LibraryDamaged(path, f"the index file is damaged (its SHA-256 does not match the "
                                f"manifest); {repair_advice(folder)}")


def _cache_file() -> Path:
    from cxrviewer.paths import cache_dir

    return cache_dir() / VERIFIED_CACHE


def _remembered() -> dict[str, Any]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(key: str, entry: dict[str, Any]) -> None:
    """Add one checked file (best effort: a cache that cannot be written only costs a hash)."""
    entries = {k: v for k, v in _remembered().items() if k != key and os.path.exists(k)}
    entries[key] = entry
    try:
        atomic_write_text(_cache_file(), json.dumps(dict(list(entries.items())[-MAX_REMEMBERED:])))
    except OSError:
        pass
