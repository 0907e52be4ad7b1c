"""What the app's logs may hold: they are attached to bug reports, so no patient data and no
library chatter that reads as an error.

- pydicom quotes element values in its warnings ("Invalid value for VR UI: 'DOE^JANE'" when a
  damaged file stores a name with the wrong VR): :class:`PatientDataFilter` replaces every quoted
  value in pydicom's records with ``<value>`` before a handler writes them.
- faiss's loader logs each CPU build it tries at INFO ("Could not load library with AVX512
  support due to: ModuleNotFoundError(...)") on every start: :func:`quiet_library_loggers` makes
  those DEBUG, keeping the one line saying which build loaded.
"""

from __future__ import annotations

import logging
import re

# A Python repr or a quoted string: 'text', "text", b'\xc3...' (escapes included).
_QUOTED = re.compile(r"""b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*\"""")
_VALUE_LOGGERS = ("pydicom", "py.warnings")


def redact_values(text: str) -> str:
    return _QUOTED.sub("<value>", text)


class PatientDataFilter(logging.Filter):
    """A handler filter that takes the element values out of pydicom's messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if any(name == prefix or name.startswith(prefix + ".") for prefix in _VALUE_LOGGERS):
            record.msg, record.args = redact_values(record.getMessage()), None
        return True


class _LoaderChatterToDebug(logging.Filter):
    """A logger filter: the builds faiss tried and could not load are DEBUG, not INFO (kept
    exactly as if faiss had logged them at DEBUG: only where its logger is enabled for DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.getMessage().startswith("Successfully loaded"):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_library_loggers() -> None:
    """Install the level changes above (once; faiss need not be imported yet)."""
    loader = logging.getLogger("faiss.loader")
    if not any(isinstance(f, _LoaderChatterToDebug) for f in loader.filters):
        loader.addFilter(_LoaderChatterToDebug())
