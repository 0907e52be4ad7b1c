"""The teaching session's state: what is visible when, keys, order, shuffling."""

from __future__ import annotations

import pytest

from cxrviewer.teaching.session import (
    ALL_FIELDS,
    SessionModel,
    is_visible,
    start_session,
    teacher_fields,
    visible_fields,
)

# The list of what "unknown" hides until the reveal, plus what gives the answer away too.
MUST_HIDE = ("report", "findings", "labels", "saliency", "title", "identifying", "annotations",
             "diagnosis", "teaching_points", "tags", "differential")


def test_unknown_hides_every_listed_field_until_revealed():
    state = start_session(["a", "b", "c"], mode="unknown")
    hidden = visible_fields(state)
    for field in MUST_HIDE:
        assert not is_visible(state, field), field
    assert {"image", "history"} <= hidden
    revealed = state.press("space")
    assert revealed.revealed and revealed.current == "a"
    assert visible_fields(revealed) == ALL_FIELDS
    for field in MUST_HIDE:
        assert is_visible(revealed, field), field


def test_moving_hides_the_next_case_again_and_known_shows_everything():
    state = start_session(["a", "b", "c"], mode="unknown").reveal()
    moved = state.press("right")
    assert moved.current == "b" and not moved.revealed
    assert not is_visible(moved, "report")
    known = start_session(["a", "b"], mode="known")
    assert visible_fields(known) == ALL_FIELDS
    assert teacher_fields(start_session(["a"])) == ALL_FIELDS  # the teacher's screen sees all


def test_keys_move_and_stop_at_the_ends():
    state = start_session(["a", "b", "c"])
    assert state.press("left").current == "a"
    assert state.press("end").current == "c"
    assert state.press("end").press("right").current == "c"
    assert state.press("end").press("home").current == "a"
    assert state.press("pagedown").press("up").current == "a"
    assert state.press("space").press("space").current == "b"  # reveal, then on to the next
    assert state.press("x") == state
    assert state.position_text == "1 / 3"
    empty = start_session([])
    assert empty.current is None and empty.press("right") == empty and empty.position_text == "0 / 0"


def test_shuffled_order_is_reproducible_from_its_seed():
    ids = [f"case-{n}" for n in range(20)]
    one = start_session(ids, shuffle=True, seed=7)
    two = start_session(ids, shuffle=True, seed=7)
    assert one.order == two.order and sorted(one.order) == sorted(ids) and one.order != tuple(ids)
    assert start_session(ids, shuffle=True, seed=8).order != one.order
    drawn = start_session(ids, shuffle=True)
    assert drawn.seed is not None
    assert start_session(ids, shuffle=True, seed=drawn.seed).order == drawn.order
    assert start_session(ids).order == tuple(ids) and start_session(ids).seed is None


def test_the_model_tells_its_observers():
    model = SessionModel(start_session(["a", "b"]))
    seen = []
    stop = model.subscribe(seen.append)
    model.press("space")
    model.press("space")
    model.press("right")  # at the end: no change, no call
    stop()
    model.go_to(0)
    assert [(s.current, s.revealed) for s in seen] == [("a", True), ("b", False)]
    with pytest.raises(KeyError):
        is_visible(model.state, "no such field")
