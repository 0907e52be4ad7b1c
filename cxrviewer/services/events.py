"""Change events for the Qt-free session model, in the spirit of napari's evented models and
glue's state callbacks: a model announces what changed with the new values, and whoever shows
it (a widget, a test, the teaching navigator) connects a callback.

Callbacks run on the thread that changed the model (the GUI thread in the window). An exception
in one callback goes to ``sys.excepthook`` (as Qt does for a slot) and the others still run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Callback = Callable[..., Any]


class Event:
    """One kind of change: ``connect(callback)``, then ``emit(*values)`` calls each callback."""

    __slots__ = ("_callbacks", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        """Call ``callback(*values)`` on every emit, after those connected before it."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        self._callbacks.remove(callback)

    def emit(self, *values: Any) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*values)
            except Exception:  # noqa: BLE001 - one observer's bug must not silence the others
                sys.excepthook(*sys.exc_info())

    def __repr__(self) -> str:
        return f"<Event {self.name} ({len(self._callbacks)} callbacks)>"


class Events:
    """A model's events, declared as annotations so that readers and type checkers see them::

        class FilmEvents(Events):
            opened: Event  # (OpenedImage) the film is decoded
            failed: Event  # (path, reason)
    """

    def __init__(self) -> None:
        for name in self.names():
            setattr(self, name, Event(name))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            for name, kind in getattr(klass, "__annotations__", {}).items():
                if kind in ("Event", Event):
                    found[name] = None
        return tuple(found)
