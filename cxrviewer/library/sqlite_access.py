"""How the library's SQLite file is opened and how its errors reach the user.

A library whose folder or file this account cannot write (a shared or archived folder) is
opened read-only: a WAL database needs its ``-shm`` file, which cannot be made there, so it is
opened ``immutable`` (nothing is written beside it), or plain ``mode=ro`` when a writer left its
``-wal``/``-shm`` behind (``immutable`` would not see the changes in the ``-wal``; SQLite reads
a read-only ``-shm``). Where this account can write, the library is opened as a writer even to
search it: only a writer folds the ``-wal`` back and removes the ``-wal`` and ``-shm`` when it
closes. Every SQLite error, whenever it happens, becomes a ``LibraryError`` naming the file:
damaged pages are often met only by the query that reads them, long after the file opened.
"""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice

STORE_SIDE_FILES = ("-wal", "-shm")  # SQLite's files beside the database in WAL mode


def database_error(path: Path, exc: sqlite3.Error) -> LibraryError:
    """The user's message for an SQLite error met on ``path``: damage says how to repair."""
    text = str(exc) or type(exc).__name__
    damaged = (type(exc) in (sqlite3.DatabaseError, sqlite3.IntegrityError)
               or any(word in text for word in ("malformed", "not a database", "no such table",
                                                "no such column")))
    if damaged:
        return LibraryDamaged(path, f"the library's metadata file is damaged ({text}); "
                                    f"{repair_advice(path.parent)}")
    return LibraryError(path, f"the library's metadata file cannot be used ({text})")


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _naming_the_file(method: _Method) -> _Method:
    """``method`` with SQLite's errors (which name no file) raised as a LibraryError that does."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # a mistake in this code, not in the file
            except sqlite3.Error as exc:
                raise database_error(self.path, exc) from None
        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.Error as exc:
            raise database_error(self.path, exc) from None
    return wrapper  # type: ignore[return-value]


def errors_name_the_file(cls: type) -> type:
    """A class decorator: every public method of ``cls`` (but ``close``) names the file in its
    errors; ``cls`` must have a ``path``."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(value) and name != "close":
            setattr(cls, name, _naming_the_file(value))
    return cls


def writable(path: Path) -> bool:
    """Whether this account may write the database and the files SQLite keeps beside it."""
    side = [Path(f"{path}{suffix}") for suffix in STORE_SIDE_FILES]
    return (os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
            and all(os.access(p, os.W_OK) for p in side if p.exists()))


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing, in a folder where nothing can be written."""
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    wal = Path(f"{path}-wal")
    if wal.is_file() and wal.stat().st_size > 0 and Path(f"{path}-shm").is_file():
        db = None
        try:  # a writer's last changes are in the -wal: read them through its -shm
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            if db is not None:
                db.close()
    return sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
