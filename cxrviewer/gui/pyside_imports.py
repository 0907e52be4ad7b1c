"""Makes imports after PySide6 cheaper.

PySide6 wraps ``__import__`` for its ``__feature__`` switches (snake_case, true_property): after
every import it asks whether the new module mentions "PySide6" by ``inspect.getsource`` on it,
which tokenises and caches the whole file through linecache. That costs about 0.3 ms a module:
~20 ms before the window shows, ~80 ms for pyqtgraph, and 0.55-0.75 s for the 2,500 modules of
torch, transformers, timm and faiss when the first model loads.

We ask the same question of the file's bytes instead. The answer is the same for every source
module (the string is ASCII; source files are in an ASCII-compatible encoding) and for compiled
extensions and modules without a file (no source: False); anything else (a frozen or zipped
module) still goes to PySide's own check.
cxrviewer never selects a feature, so the answer only keeps PySide's bookkeeping as it would be.
"""

from __future__ import annotations

import logging
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType

log = logging.getLogger(__name__)

_MARK = "_cxrviewer_reads_bytes"
_EXTENSION_SUFFIXES = tuple(EXTENSION_SUFFIXES)


def read_source_bytes_for_feature_check() -> bool:
    """Install the byte check; True when it is (or already was) in place."""
    import PySide6.QtCore  # noqa: F401 - loads shibokensupport.feature

    feature = sys.modules.get("shibokensupport.feature")
    upstream = getattr(feature, "_mod_uses_pyside", None)
    if upstream is None:  # another PySide6 layout: keep its own check
        log.debug("PySide6 has no shibokensupport.feature._mod_uses_pyside; import check unchanged")
        return False
    if getattr(upstream, _MARK, False):
        return True

    def mod_uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not path:
            return False  # built-in or namespace package: inspect.getfile refuses it, so PySide says False
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass
        elif isinstance(path, str) and path.endswith(_EXTENSION_SUFFIXES):
            return False  # compiled: inspect has no source to give, so PySide's answer is False too
        return upstream(module)

    setattr(mod_uses_pyside, _MARK, True)
    mod_uses_pyside.upstream = upstream  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside
    return True
