"""DICOM Structured Reports (Basic/Enhanced/Comprehensive SR) as plain report text."""

from __future__ import annotations

import os
from typing import Any

from cxrviewer.imaging.records import ImageReadError

# Relationships that carry the report's content; modifiers and context are not report text.
_CONTENT = {"CONTAINS", "HAS PROPERTIES", "INFERRED FROM", ""}
_VALUE_TYPES = {"TEXT", "CODE", "NUM", "DATE", "TIME", "DATETIME", "PNAME", "CONTAINER"}


def _concept(item: Any) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeMeaning", "") or "").strip() if seq else ""


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


def _value(item: Any) -> str:
    kind = str(item.get("ValueType", ""))
    if kind == "TEXT":
        return _normalise(str(item.get("TextValue", "") or ""))
    concept = _concept(item)
    if kind == "CODE":
        seq = item.get("ConceptCodeSequence")
        meaning = str(seq[0].get("CodeMeaning", "")) if seq else ""
        return f"{concept}: {meaning}" if concept else meaning
    if kind == "NUM":
        seq = item.get("MeasuredValueSequence")
        if not seq:
            return ""
        value = str(seq[0].get("NumericValue", ""))
        units = seq[0].get("MeasurementUnitsCodeSequence")
        unit = str(units[0].get("CodeValue", "")) if units else ""
        unit = "" if unit in ("1", "{-}") else unit
        return f"{concept}: {value} {unit}".strip() if concept else f"{value} {unit}".strip()
    for keyword in ("Date", "Time", "DateTime", "PersonName"):
        if keyword in item:
            return f"{concept}: {item.get(keyword)}" if concept else str(item.get(keyword))
    return ""


def _render(items: Any, sections: list[str], lines: list[str]) -> None:
    """Named containers become sections; their text goes under the heading in reading order."""
    for item in items or []:
        relation = str(item.get("RelationshipType", "") or "")
        kind = str(item.get("ValueType", "") or "")
        if relation not in _CONTENT or kind not in _VALUE_TYPES:
            continue
        if kind == "CONTAINER":
            name = _concept(item)
            if name:
                if lines:
                    sections.append("\n".join(lines))
                    lines.clear()
                body: list[str] = []
                _render(item.get("ContentSequence"), sections, body)
                if body:
                    sections.append(f"{name.upper()}:\n" + "\n".join(body))
            else:
                _render(item.get("ContentSequence"), sections, lines)
            continue
        text = _value(item)
        if text:
            lines.append(text)
        if "ContentSequence" in item:
            _render(item.ContentSequence, sections, lines)


def sr_text(path_or_dataset: str | os.PathLike[str] | Any) -> str:
    """The report text of an SR document: "FINDINGS:\\n...\\n\\nIMPRESSION:\\n...".

    Raises
    ------
    ImageReadError
        When the file is not a readable SR document.
    """
    import pydicom

    if isinstance(path_or_dataset, (str, os.PathLike)):
        path = os.fspath(path_or_dataset)
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as exc:
            raise ImageReadError(path, f"unreadable SR document ({type(exc).__name__})") from exc
    else:
        ds = path_or_dataset
        path = str(getattr(ds, "filename", "") or "<dataset>")
    if "ContentSequence" not in ds:
        raise ImageReadError(path, "not a structured report (no ContentSequence)")
    sections: list[str] = []
    lines: list[str] = []
    _render(ds.ContentSequence, sections, lines)
    if lines:
        sections.append("\n".join(lines))
    return "\n\n".join(s for s in sections if s.strip())
