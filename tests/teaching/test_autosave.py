"""Every edit is saved as it is made: a process killed (SIGKILL) in the middle of editing loses
nothing it had finished, and leaves a sound database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cxrviewer.teaching.store import TeachingStore

REPO = Path(__file__).resolve().parents[2]

# Edits as fast as it can: a title change, then an annotation, then a move, reporting each one
# on stdout only after the store's method returned (the edit is committed).
_EDITOR = r"""
import sys
from cxrviewer.teaching.model import Annotation, Film
from cxrviewer.teaching.store import TeachingStore

store = TeachingStore(sys.argv[1])
c = store.create_collection("Killed")
first = store.add_case(c.collection_id, Film("file", "a/film.png"))
second = store.add_case(c.collection_id, Film("file", "b/film.png"))
print("ready", first.case_id, second.case_id, flush=True)
n = 0
while True:
    n += 1
    store.update_teaching(first.case_id, title=f"edit {n}")
    store.add_annotation(first.case_id, Annotation("text", ((n, n),), f"mark {n}"))
    store.move_case(second.case_id, n % 2)
    print(n, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_the_last_completed_edit_survives_kill_9(tmp_path):
    folder = tmp_path / "teaching"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, "-c", _EDITOR, str(folder)], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        ready = child.stdout.readline().split()
        assert ready[0] == "ready", ready
        first, second = ready[1], ready[2]
        seen = 0
        while seen < 40:  # well into the editing, then kill it wherever it is
            line = child.stdout.readline()
            assert line, "the editor stopped on its own"
            seen = int(line)
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read().split()
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    done = int(rest[-1]) if rest else seen  # the last edit the editor finished and reported

    with TeachingStore(folder) as store:
        assert store.check() == ""
        case = store.case(first)
        # The last finished round is there whole; a round cut short may have saved its first
        # edits (each is its own transaction), never half an edit.
        title_n = int(case.teaching.title.split()[1])
        assert title_n in (done, done + 1)
        marks = [a.text for a in case.annotations]
        assert marks[: done] == [f"mark {n}" for n in range(1, done + 1)]
        assert len(marks) in (done, done + 1) and len(marks) <= title_n  # a round: title, mark, move
        order = [k.case_id for k in store.cases(store.collection("Killed").collection_id)]
        assert sorted(order) == sorted([first, second])
        if len(marks) == done:  # the cut round had not reached its move
            assert order.index(second) == done % 2
