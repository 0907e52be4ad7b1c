"""The one error a library raises: it names the file at fault and what is wrong with it."""

from __future__ import annotations

import os
import shlex


class LibraryError(Exception):
    """A library cannot be opened, built or searched as asked; the message is for the user."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


class LibraryDamaged(LibraryError):
    """A library file's contents are damaged (not merely missing or busy): a repair rebuilds it."""


def repair_advice(folder: str | os.PathLike[str]) -> str:
    """The command that checks a library's files and rebuilds the damaged ones."""
    return f"repair the library with `cxrviewer library repair {shlex.quote(os.fspath(folder))}`"
