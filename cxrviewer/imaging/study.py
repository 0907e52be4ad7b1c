"""Finding the report that goes with a study: an SR in the study, else a text file beside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from cxrviewer.imaging.records import ImageReadError

MAX_REPORT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class ReportText:
    """A report's text and where it came from (shown under the report pane)."""

    text: str
    source_path: str
    source_kind: Literal["sr", "text"]


def read_text_file(path: str, limit: int = MAX_REPORT_BYTES) -> str:
    """A user's text file, whatever its encoding or size: UTF-8 with replacement, capped."""
    with open(path, "rb") as fp:
        data = fp.read(limit)
    text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _file_named(folder: str, name: str) -> str | None:
    """``name`` in ``folder``, ignoring case (REPORT.TXT from a CD on Linux)."""
    candidate = os.path.join(folder, name)
    if os.path.isfile(candidate):
        return candidate
    try:
        for entry in os.scandir(folder):
            if entry.name.lower() == name.lower() and entry.is_file():
                return entry.path
    except OSError:
        pass
    return None


def _text_report(path: str | None) -> ReportText | None:
    if path is None:
        return None
    try:
        text = read_text_file(path)
    except OSError:
        return None
    return ReportText(text.strip(), path, "text") if text.strip() else None


def find_report(study_paths: list[str], sr_paths: list[str]) -> ReportText | None:
    """The study's report: an SR document first, else ``report.txt`` in the study's folder,
    else ``<image-stem>.txt`` beside one of its images; None when there is none."""
    from cxrviewer.imaging.sr import sr_text

    for path in sr_paths:
        try:
            text = sr_text(path)
        except ImageReadError:
            continue
        if text.strip():
            return ReportText(text, path, "sr")
    folders = list(dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in study_paths))
    for folder in folders:
        found = _text_report(_file_named(folder, "report.txt"))
        if found:
            return found
    for path in study_paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        found = _text_report(_file_named(os.path.dirname(os.path.abspath(path)), stem + ".txt"))
        if found:
            return found
    return None
