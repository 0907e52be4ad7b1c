"""``manifest.json``: what a library folder holds, so it is never opened with the wrong code.

The manifest is the only file that points at the current database and index files (both have
versioned names and are replaced by rewriting the manifest, see ``versions``), which keeps the
swap atomic on every platform, including Windows where a file that is open cannot be replaced.
A manifest that names a database other than ``library.sqlite`` is written as format version 2,
so that a cxrviewer from before versions refuses it rather than opening a stale database.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice

FORMAT = "cxrviewer-library"
LABEL_ROUTE = "labels"  # the route every library has: findings compared, no model
FORMAT_VERSION = 2  # written when the database is versioned; 1 (library.sqlite) is read too
READ_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.json"
FIRST_STORE = "library.sqlite"  # the database of every library until a build makes a version


@dataclass(frozen=True)
class IndexInfo:
    """The FAISS index file of an embedding route, with the hash checked on open."""

    file: str
    kind: str  # "flat", "hnsw", "hnsw-sq", "ivf" or "ivf-pq" (library.index)
    sha256: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """Everything needed to decide whether a library can be opened and added to."""

    name: str
    route: str  # "labels" or the id of an embedding encoder
    dim: int
    preprocessing: dict[str, Any] = field(default_factory=dict)
    sources: tuple[dict[str, str], ...] = ()  # [{"dataset", "root", "root_from_library"}] (library.locations)
    counts: dict[str, int] = field(default_factory=dict)
    state: str = "building"  # "building" until a build finishes, then "ready"
    synthetic: bool = False
    index: IndexInfo | None = None
    store: str = FIRST_STORE  # the SQLite file of the current version
    created: str = ""
    updated: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["sources"] = list(self.sources)
        data["format_version"] = self.file_version()
        if self.store == FIRST_STORE:  # as before versions: older cxrviewers read it as it is
            del data["store"]
        return json.dumps(data, indent=2, sort_keys=True)

    def file_version(self) -> int:
        """The format version this manifest is written as (see the module's docstring)."""
        return 1 if self.store == FIRST_STORE else FORMAT_VERSION

    def touched(self, **changes: Any) -> Manifest:
        return replace(self, updated=now_iso(), **changes)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def read_manifest(folder: Path) -> Manifest:
    """The manifest of ``folder``; a missing, unreadable or foreign one is a LibraryError."""
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise LibraryError(folder, "no such library folder")
    if not path.is_file():
        raise LibraryError(path, "not a cxrviewer library (manifest.json is missing)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LibraryError(path, f"manifest cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LibraryDamaged(path, f"the manifest is damaged ({exc}); {repair_advice(folder)}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LibraryError(path, "not a cxrviewer library manifest")
    version = data.get("format_version")
    if version not in READ_VERSIONS:
        raise LibraryError(
            path, f"library format version {version} is not a version this cxrviewer reads "
                  f"({', '.join(map(str, READ_VERSIONS))}); rebuild it into a new folder, this one "
                  f"is left as it is")
    try:
        index = data.pop("index", None)
        data["sources"] = tuple(data.get("sources", ()))
        manifest = Manifest(**data, index=IndexInfo(**index) if index else None)
    except TypeError as exc:
        raise LibraryDamaged(path, f"manifest has unexpected fields ({exc}); {repair_advice(folder)}") from None
    if not all(isinstance(s, dict) and all(isinstance(v, str) for v in s.values()) for s in manifest.sources):
        raise LibraryDamaged(path, f"the manifest's sources are not dataset records; {repair_advice(folder)}")
    if not is_plain_file_name(manifest.store):
        raise LibraryDamaged(path, f"the manifest names the database {manifest.store!r}, which is not a "
                                   f"file in the library folder; {repair_advice(folder)}")
    if manifest.index is not None and not is_plain_file_name(manifest.index.file):
        raise LibraryDamaged(path, f"the manifest names the index file {manifest.index.file!r}, which is "
                                   f"not a file in the library folder (it must be a plain file name); "
                                   f"{repair_advice(folder)}")
    return manifest


def is_plain_file_name(name: object) -> bool:
    """A name of a file directly in the library folder: no folder part, no ``..``, not absolute
    (a manifest is data from disk; it must not lead a reader outside the library)."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and ":" not in name and "\0" not in name)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    atomic_write_text(folder / MANIFEST_NAME, manifest.to_json() + "\n")
