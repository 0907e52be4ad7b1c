"""A teaching session's state: the case navigator's order, place, mode and reveal, without Qt.

"known" shows everything; "unknown" hides whatever gives the answer away (the report, findings,
labels, saliency, the case's title, diagnosis, teaching points, tags, the annotations and every
identifying field) until the case is revealed. :func:`visible_fields` is the one rule the
window and the tests both ask. Keys: space reveals (and, once revealed, moves on), the arrows
and Page Up/Down move, Home/End jump; moving hides the next case again.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

MODES = ("known", "unknown")
# Every field the navigator can show.
ALL_FIELDS: frozenset[str] = frozenset({
    "image", "history", "difficulty", "position",  # always shown
    "report", "findings", "labels", "saliency", "title", "diagnosis", "teaching_points", "tags",
    "annotations", "identifying", "differential",
})
ALWAYS_VISIBLE: frozenset[str] = frozenset({"image", "history", "difficulty", "position"})
HIDDEN_UNTIL_REVEALED: frozenset[str] = ALL_FIELDS - ALWAYS_VISIBLE

NEXT_KEYS = frozenset({"right", "down", "pagedown", "n"})
PREVIOUS_KEYS = frozenset({"left", "up", "pageup", "p"})


@dataclass(frozen=True)
class SessionState:
    """Where a session is. ``order`` is the case ids as presented (shuffled with ``seed``)."""

    order: tuple[str, ...]
    index: int = 0
    revealed: bool = False
    mode: str = "unknown"
    shuffled: bool = False
    seed: int | None = None
    session_id: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be known or unknown, not {self.mode!r}")
        if self.order and not 0 <= self.index < len(self.order):
            raise ValueError(f"index {self.index} is outside the session's {len(self.order)} cases")

    @property
    def current(self) -> str | None:
        """The case id on screen (None for an empty collection)."""
        return self.order[self.index] if self.order else None

    @property
    def at_first(self) -> bool:
        return self.index == 0

    @property
    def at_last(self) -> bool:
        return not self.order or self.index == len(self.order) - 1

    @property
    def position_text(self) -> str:
        return f"{self.index + 1} / {len(self.order)}" if self.order else "0 / 0"

    def go_to(self, index: int) -> SessionState:
        """Case ``index`` (clamped), hidden again unless it is the one already on screen."""
        if not self.order:
            return self
        index = max(0, min(index, len(self.order) - 1))
        return self if index == self.index else replace(self, index=index, revealed=False)

    def next(self) -> SessionState:
        return self.go_to(self.index + 1)

    def previous(self) -> SessionState:
        return self.go_to(self.index - 1)

    def reveal(self) -> SessionState:
        return replace(self, revealed=True)

    def hide(self) -> SessionState:
        return replace(self, revealed=False)

    def with_mode(self, mode: str) -> SessionState:
        return replace(self, mode=mode)

    def press(self, key: str) -> SessionState:
        """The state after a key (Qt's key names, lower case: "space", "right", "home")."""
        key = key.lower()
        if key == "space":
            return self.next() if self.revealed or self.mode == "known" else self.reveal()
        if key in NEXT_KEYS:
            return self.next()
        if key in PREVIOUS_KEYS:
            return self.previous()
        if key == "home":
            return self.go_to(0)
        if key == "end":
            return self.go_to(len(self.order) - 1)
        return self


def start_session(case_ids: Sequence[str], mode: str = "unknown", shuffle: bool = False,
                  seed: int | None = None) -> SessionState:
    """A session over ``case_ids`` (the collection's order), shuffled reproducibly by ``seed``
    (one is drawn and recorded when none is given)."""
    order = list(case_ids)
    if shuffle:
        seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        random.Random(seed).shuffle(order)
    return SessionState(tuple(order), 0, False, mode, shuffle, seed if shuffle else None,
                        uuid.uuid4().hex[:12])


def visible_fields(state: SessionState) -> frozenset[str]:
    """What the navigator may show for the current case now."""
    if state.mode == "known" or state.revealed:
        return ALL_FIELDS
    return ALWAYS_VISIBLE


def is_visible(state: SessionState, field: str) -> bool:
    if field not in ALL_FIELDS:
        raise KeyError(f"unknown session field {field!r}")
    return field in visible_fields(state)


def teacher_fields(state: SessionState) -> frozenset[str]:
    """What the teacher's notes screen shows: everything, revealed or not."""
    return ALL_FIELDS


class SessionModel:
    """A session's state with change callbacks, for a window to drive and observe."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        self._subscribers: list[Callable[[SessionState], None]] = []

    def subscribe(self, callback: Callable[[SessionState], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def set_state(self, state: SessionState) -> None:
        if state != self.state:
            self.state = state
            for callback in list(self._subscribers):
                callback(state)

    def press(self, key: str) -> None:
        self.set_state(self.state.press(key))

    def reveal(self) -> None:
        self.set_state(self.state.reveal())

    def go_to(self, index: int) -> None:
        self.set_state(self.state.go_to(index))
