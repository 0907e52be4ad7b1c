"""The one error a library raises: it names the file at fault and what is wrong with it."""

from __future__ import annotations

import os


class LibraryError(Exception):
    """A library cannot be opened, built or searched as asked; the message is for the user."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))
