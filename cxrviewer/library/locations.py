"""Where a library's films are now: stored paths that work from any working folder, and after
the library and its dataset have been moved or copied together.

A build resolves the dataset root first, so every film is stored by its absolute path (a
relative ``--root`` names the same folder from wherever the library is opened later). The
manifest records each source's root twice: absolute (``root``) and relative to the library
folder (``root_from_library``). On open, per source:

* its absolute root still exists: paths are used as stored (nothing moved, or the library was
  moved alone, e.g. into the user data folder);
* it does not, but ``root_from_library`` leads from where the library is now to a folder: the
  library and the dataset moved together (another disk, another machine); stored paths under
  the old root are mapped there.

Libraries built before this stored films relative to the build's working folder, with no
relative root: such a path is looked for under the source root and its parents (the usual
working folders of a build) and the folder that worked is tried first for the next one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

LEGACY_PARENTS = 8  # parents of a source root searched for a legacy relative path


def source_entry(dataset: str, root: Path, folder: Path) -> dict[str, str]:
    """The manifest's record of a source: ``root`` absolute, and relative to the library
    ``folder`` when it can be (not across Windows drives)."""
    root, folder = Path(root).resolve(), Path(folder).resolve()
    try:
        relative = Path(os.path.relpath(root, folder)).as_posix()
    except ValueError:
        relative = ""
    return {"dataset": dataset, "root": str(root), "root_from_library": relative}


def same_source(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return (a.get("dataset"), a.get("root")) == (b.get("dataset"), b.get("root"))


def _is_dir(path: str | Path) -> bool:
    """``Path.is_dir`` raises where this account may not look (a dataset folder of another
    user); such a folder is just not there for it."""
    return os.path.isdir(path)


def current_root(folder: Path, source: Mapping[str, str]) -> Path | None:
    """Where a source's dataset folder is now (the same rule as for its films), or None."""
    root = source.get("root", "")
    if root and _is_dir(root):
        return Path(root)
    relative = source.get("root_from_library", "")
    moved = (Path(folder) / relative).resolve() if relative else None
    return moved if moved is not None and _is_dir(moved) else None


class ImageLocator:
    """Maps a stored image path to where the film is now (see the module's docstring).

    Decisions are made once per source when the library opens (a ``stat`` per source, none per
    film), so mapping the paths of a thousand hits costs string operations only.
    """

    def __init__(self, folder: Path, sources: Sequence[Mapping[str, str]]) -> None:
        self._moves: list[tuple[str, str]] = []  # (old root + sep, new root + sep)
        self._legacy_bases: list[str] = []
        for source in sources:
            root = source.get("root", "")
            if not root:
                continue
            relative = source.get("root_from_library", "")
            if not _is_dir(root) and relative:
                moved = (Path(folder) / relative).resolve()
                if _is_dir(moved):
                    self._moves.append((os.path.join(root, ""), os.path.join(str(moved), "")))
            parents = [Path(root), *list(Path(root).parents)[:LEGACY_PARENTS]]
            self._legacy_bases += [str(p) for p in parents if str(p) not in self._legacy_bases]

    def __call__(self, stored: str) -> str:
        if os.path.isabs(stored):
            for old, new in self._moves:
                if stored.startswith(old):
                    return new + stored[len(old):]
            return stored
        return self._legacy(stored)

    def stored_forms(self, path: str) -> list[str]:
        """The paths a film now at ``path`` may be stored under: itself, without symbolic links,
        and under the old root of a source that moved (the inverse of calling this object)."""
        forms = list(dict.fromkeys((path, os.path.realpath(path))))
        for form in list(forms):
            forms += [old + form[len(new):] for old, new in self._moves if form.startswith(new)]
        return list(dict.fromkeys(forms))

    def _legacy(self, stored: str) -> str:
        for i, base in enumerate(self._legacy_bases):
            candidate = os.path.join(base, stored)
            if os.path.exists(candidate):
                if i:  # the build's working folder: first in line for the next film
                    self._legacy_bases.insert(0, self._legacy_bases.pop(i))
                return candidate
        return stored
