"""A build's decoding processes die with it, even when it is killed with SIGKILL (no clean-up
runs then): orphaned decoders would keep a CPU core and the dataset's files busy for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dataset_trees import write_image

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")

BUILD = """
import os, sys, time
from pathlib import Path
from cxrviewer.library.build import BuildOptions, build_library

def progress(p):
    if p.stage == "images" and p.done > 0:  # decoders are at work: stay here until killed
        Path(sys.argv[3]).write_text(str(os.getpid()))
        time.sleep(600)

if __name__ == "__main__":  # the workers are spawned: they import this file too
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    build_library(BuildOptions("folder", root, out, workers=2, batch_size=4), progress=progress)
"""


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            parents[int(entry)] = found[1]
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    found = _stat(pid)
    return found is not None and found[0] not in ("Z", "X")  # a zombie has ended (unreaped)


def test_killing_a_build_kills_its_decoding_processes(tmp_path: Path) -> None:
    for n in range(40):
        write_image(tmp_path / "films" / f"film{n:02d}.png")
    ready = tmp_path / "ready"
    script = tmp_path / "build.py"
    script.write_text(BUILD)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "films"), str(tmp_path / "lib"), str(ready)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read().decode() if proc.poll() is not None else "build never started"
        children = _descendants(proc.pid)
        assert len(children) >= 2, "the build decodes in worker processes"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"processes left running after the build was killed: {left}"
    finally:  # leave nothing behind, whatever failed
        if proc.poll() is None:
            children |= _descendants(proc.pid)
            proc.kill()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


ORPHAN = """
import multiprocessing, os, sys, time
from pathlib import Path

def child(parent_pid, ready):
    import cxrviewer.lifeline as lifeline

    lifeline._kernel_death_signal = lambda: None  # the portable watchdog alone
    lifeline.die_with_parent(parent_pid)
    Path(ready).write_text(str(os.getpid()))
    time.sleep(600)

if __name__ == "__main__":
    process = multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(), sys.argv[1]))
    process.start()
    time.sleep(600)
"""


def test_the_watchdog_alone_ends_an_orphan_where_the_kernel_signal_is_missing(tmp_path: Path) -> None:
    script, ready = tmp_path / "orphan.py", tmp_path / "ready"
    script.write_text(ORPHAN)
    proc = subprocess.Popen([sys.executable, str(script), str(ready)], stderr=subprocess.DEVNULL)
    child = 0
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(ready.read_text())
        assert _alive(child)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the orphan outlived its parent"
    finally:
        proc.kill()
        proc.wait()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_inherited_environment_puts_back_what_was_there(monkeypatch) -> None:
    import os

    from cxrviewer.lifeline import inherited_environment

    monkeypatch.setenv("CXR_SET_BEFORE", "old")
    monkeypatch.delenv("CXR_UNSET_BEFORE", raising=False)
    with inherited_environment({"CXR_SET_BEFORE": "1", "CXR_UNSET_BEFORE": "1"}):
        assert os.environ["CXR_SET_BEFORE"] == os.environ["CXR_UNSET_BEFORE"] == "1"
    assert os.environ["CXR_SET_BEFORE"] == "old" and "CXR_UNSET_BEFORE" not in os.environ
