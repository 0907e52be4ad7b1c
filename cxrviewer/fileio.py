"""Writes that never leave a half-written file behind (temp file + ``os.replace``).

The temp file is made private by ``mkstemp`` (0600); before it takes the final name it gets the
permissions any new file of this process gets (0666 less the umask), so a library built by one
account on a shared workstation can be read by the others, as its SQLite file can.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("Umask:"):
                        return int(line.split()[1], 8)
        except (OSError, ValueError, IndexError):
            pass
    mask = os.umask(0o077)  # elsewhere: read by setting it (briefly stricter, never looser)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a mix.

    The temp file lives in the target's folder so ``os.replace`` is a rename on one filesystem,
    and it is fsynced first so a power cut cannot leave an empty file under the final name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~current_umask())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))
