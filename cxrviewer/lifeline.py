"""Worker processes that die with the process that started them, even one killed by SIGKILL.

A pool's workers block reading their job queue, and they hold that queue's write end
themselves, so a parent that dies without running its clean-up (``kill -9``, the OOM killer, a
crash in native code) leaves them waiting for ever: orphaned decoders holding memory and files.
``die_with_parent`` runs first in each worker (a pool ``initializer``):

* on Linux the kernel sends the worker SIGKILL when its parent dies (``PR_SET_PDEATHSIG``),
  at once and whatever the worker is doing. The signal follows the parent *thread* that
  started the worker: a pool must be used and shut down by the thread that created it (as the
  library build does);
* everywhere, a watchdog thread wakes when the parent's sentinel (a pipe on POSIX, a process
  handle on Windows) reports the parent gone, and checks ``os.getppid()`` each second, and
  ends the worker with ``os._exit``.

multiprocessing's resource tracker needs neither: it exits once every process holding its pipe
(the parent and these workers) has gone.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0
ORPHAN_EXIT_CODE = 70


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) ends; call it first thing."""
    if sys.platform.startswith("linux"):
        _kernel_death_signal()
    threading.Thread(target=_watch, args=(parent_pid,), name="cxrviewer-lifeline", daemon=True).start()
    if not _parent_alive(parent_pid):  # died before the signal was armed: nothing would send it
        os._exit(ORPHAN_EXIT_CODE)


def _kernel_death_signal() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl (an unusual libc): the watchdog remains
        pass


def _parent_alive(parent_pid: int) -> bool:
    """POSIX re-parents an orphan (to init or a subreaper), so its parent id changes; Windows
    keeps the old id, where the sentinel is what tells."""
    return os.name == "nt" or os.getppid() == parent_pid


def _watch(parent_pid: int) -> None:
    from multiprocessing import parent_process
    from multiprocessing.connection import wait

    parent = parent_process()
    sentinel = parent.sentinel if parent is not None and parent.pid == parent_pid else None
    while True:
        if sentinel is not None:
            try:
                if wait([sentinel], timeout=POLL_SECONDS):
                    os._exit(ORPHAN_EXIT_CODE)
            except OSError:  # the sentinel was closed under us: fall back to polling
                sentinel = None
        else:
            threading.Event().wait(POLL_SECONDS)
        if not _parent_alive(parent_pid):
            os._exit(ORPHAN_EXIT_CODE)


@contextmanager
def inherited_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the worker processes started inside the block (spawned
    processes inherit them) and put back what was there before, set or not."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
