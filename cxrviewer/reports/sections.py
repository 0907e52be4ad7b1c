"""Report sections: indication, comparison, findings, impression.

Reports arrive as free text with headings (``FINDINGS:``, ``Impression``, ``1. IMPRESSION:``),
as Open-i / IU XML (``<AbstractText Label="FINDINGS">``), as rows of the IU CSV, or as DICOM SR
text. All of them become one :class:`ReportSections`, so the report pane and the labeler never
care where a report came from.

Policy for text without headings: it goes to ``findings``, because a heading-less text is
almost always the body of a report (or a typed impression) and the labeler and the report pane
both read ``findings``. Text *before* the first heading of a headed report (an exam title,
a dictation header) goes to ``other``, as do sections we do not model (technique, notification,
recommendation).

Everything here is linear in the text length: headings are found by one regex with no nested
quantifiers, and XML is scanned with ``str.find``, never with a backtracking pattern.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SECTION_NAMES = ("indication", "comparison", "findings", "impression", "other")

DISPLAY_HEADINGS = {
    "indication": "Indication",
    "comparison": "Comparison",
    "findings": "Findings",
    "impression": "Impression",
    "other": "Other",
}

# Heading words (lower case, single spaces) -> section. Anything else that looks like a
# heading is not treated as one, so "Left knee:" in a sentence stays in its section.
_HEADING_TO_SECTION: dict[str, str] = {
    "indication": "indication",
    "indications": "indication",
    "clinical indication": "indication",
    "clinical indications": "indication",
    "history": "indication",
    "clinical history": "indication",
    "clinical information": "indication",
    "clinical data": "indication",
    "clinical details": "indication",
    "reason for exam": "indication",
    "reason for examination": "indication",
    "reason for study": "indication",
    "reason": "indication",
    "admit comments": "indication",
    "comparison": "comparison",
    "comparisons": "comparison",
    "comparison study": "comparison",
    "comparison studies": "comparison",
    "prior studies": "comparison",
    "prior": "comparison",
    "findings": "findings",
    "finding": "findings",
    "report": "findings",
    "body": "findings",
    "findings and impression": "impression",
    "impression": "impression",
    "impressions": "impression",
    "conclusion": "impression",
    "conclusions": "impression",
    "summary": "impression",
    "opinion": "impression",
    "diagnosis": "impression",
    "diagnoses": "impression",
    "technique": "other",
    "exam": "other",
    "examination": "other",
    "procedure": "other",
    "views": "other",
    "recommendation": "other",
    "recommendations": "other",
    "notification": "other",
    "addendum": "other",
    "wet read": "other",
}

_HEADING_WORDS = sorted(_HEADING_TO_SECTION, key=len, reverse=True)
_HEADING_ALT = "|".join(re.escape(h).replace(r"\ ", r"[ \t]+") for h in _HEADING_WORDS)

# A heading starts a line (after optional bullets/numbering) or follows a sentence end, and is
# followed by ":" / "=" / "-" or by the end of its line (SR dumps and typed reports often put
# "Findings" alone on a line). Bounded repetitions only: no catastrophic backtracking.
_HEADING_RE = re.compile(
    r"(?:(?<=^)|(?<=\n)|(?<=[.!?;]\s)|(?<=[.!?;]))"
    r"[ \t]{0,8}(?:[\(\[]?(?:\d{1,2}|[ivxIVX]{1,4}|[a-zA-Z])[.)\]][ \t]{1,4})?"
    r"[\"'<(]{0,2}(?P<head>" + _HEADING_ALT + r")[\"'>)]{0,2}"
    r"(?:[ \t]{0,4}(?P<sep>:|=|-(?=\s))|(?=[ \t]{0,8}(?:\r?\n|$)))",
    re.IGNORECASE,
)

# IU CSV column names (and SR concept names) that map to sections directly.
_FIELD_TO_SECTION = {**_HEADING_TO_SECTION, "indication": "indication", "mesh": "", "problems": "",
                     "uid": "", "image": "", "filename": "", "projection": ""}


@dataclass(frozen=True)
class SectionSpan:
    """Where one section's text lies in the original report (``start``/``end`` index the text)."""

    section: str
    heading: str
    start: int
    end: int


@dataclass(frozen=True)
class ReportSections:
    """The sections of one report; every field is ``""`` when absent.

    ``order`` keeps the order in which sections appeared so the report pane shows them as the
    radiologist wrote them.
    """

    indication: str = ""
    comparison: str = ""
    findings: str = ""
    impression: str = ""
    other: str = ""
    order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def as_pairs(self) -> list[tuple[str, str]]:
        """(display heading, text) in report order, non-empty sections only."""
        names = list(self.order) + [n for n in SECTION_NAMES if n not in self.order]
        return [(DISPLAY_HEADINGS[n], getattr(self, n)) for n in names if getattr(self, n)]

    @property
    def body(self) -> str:
        """Findings and impression together: the text that states what the image shows."""
        return "\n".join(t for t in (self.findings, self.impression) if t)

    @classmethod
    def from_iu_xml(cls, xml_text: str) -> ReportSections:
        """Sections from an Open-i / IU XML report (its ``AbstractText Label=...`` elements)."""
        return from_iu_xml(xml_text)

    @classmethod
    def from_iu_row(cls, row: Mapping[str, object]) -> ReportSections:
        """Sections from a row of ``indiana_reports.csv`` (any key case)."""
        return from_iu_row(row)


def section_spans(text: str) -> list[SectionSpan]:
    """The sections of free text with their character ranges, in report order.

    The labeler uses the ranges to skip indication/comparison text while keeping its evidence
    spans in the coordinates of the original text.
    """
    if not text or not text.strip():
        return []
    heads = list(_HEADING_RE.finditer(text))
    if not heads:
        start, end = _strip_range(text, 0, len(text))
        return [SectionSpan("findings", "", start, end)] if start < end else []
    spans: list[SectionSpan] = []
    pre_start, pre_end = _strip_range(text, 0, heads[0].start())
    if pre_start < pre_end:
        spans.append(SectionSpan("other", "", pre_start, pre_end))
    for i, match in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        start, stop = _strip_range(text, match.end(), end)
        head = " ".join(match.group("head").lower().split())
        if start < stop:
            spans.append(SectionSpan(_HEADING_TO_SECTION[head], match.group("head"), start, stop))
    return spans


def split_sections(text: str) -> ReportSections:
    """Split free report text (or DICOM SR text) into sections.

    Headings are recognised in any case, with ``:``/``=``/``-`` or alone on a line, and after
    list numbers ("1. FINDINGS:"). Text without any heading is returned as ``findings``; text
    before the first heading goes to ``other``. Repeated sections are joined with a newline.
    """
    if not isinstance(text, str):
        return ReportSections()
    return _assemble((s.section, text[s.start:s.end]) for s in section_spans(text))


def from_iu_xml(xml_text: str) -> ReportSections:
    """Sections from Open-i XML; unknown labels go to ``other``, malformed XML gives what parsed.

    Scans with ``str.find`` rather than an XML parser, so truncated or hostile files (entity
    expansion) cannot hurt, and ``AbstractText`` elements are all this format needs.
    """
    if not isinstance(xml_text, str):
        return ReportSections()
    pairs: list[tuple[str, str]] = []
    pos = 0
    while True:
        open_at = xml_text.find("<AbstractText", pos)
        if open_at < 0:
            break
        tag_end = xml_text.find(">", open_at)
        if tag_end < 0:
            break
        close_at = xml_text.find("</AbstractText>", tag_end)
        if close_at < 0:
            close_at = len(xml_text)
        label = _attribute(xml_text[open_at:tag_end], "Label")
        if xml_text[tag_end - 1] != "/":  # <AbstractText Label="X"/> is empty
            body = html.unescape(xml_text[tag_end + 1:close_at]).strip()
            pairs.append((_section_for_field(label) or "other", body))
        pos = close_at + 1
    return _assemble(pairs)


def from_iu_row(row: Mapping[str, object]) -> ReportSections:
    """Sections from a row of the IU CSV (``uid, MeSH, ..., indication, comparison, findings,
    impression``). Metadata columns are ignored; missing or NaN-like cells are empty."""
    pairs: list[tuple[str, str]] = []
    for key, value in row.items():
        section = _section_for_field(str(key))
        if not section or value is None:
            continue
        cell = str(value).strip()
        if cell.lower() in ("", "nan", "none"):
            continue
        pairs.append((section, cell))
    return _assemble(pairs)


def from_pairs(pairs: Iterable[tuple[str, str]]) -> ReportSections:
    """Sections from (heading or concept name, text) pairs, e.g. DICOM SR TEXT content items
    read by the imaging layer ("Findings", "Impression", "History", ...)."""
    return _assemble(((_section_for_field(h) or "other"), t) for h, t in pairs if t and t.strip())


def _section_for_field(name: str | None) -> str:
    key = " ".join((name or "").lower().replace("_", " ").split()).rstrip(":")
    if key in _FIELD_TO_SECTION:
        return _FIELD_TO_SECTION[key]
    return "other" if key else ""


def _attribute(tag: str, name: str) -> str:
    at = tag.find(name + "=")
    if at < 0:
        return ""
    rest = tag[at + len(name) + 1:]
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        return rest[1:end if end > 0 else len(rest)]
    return rest.split()[0] if rest.split() else ""


def _strip_range(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\r\n:;,-=.":
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _assemble(pairs: Iterable[tuple[str, str]]) -> ReportSections:
    parts: dict[str, list[str]] = {}
    for section, body in pairs:
        body = body.strip()
        if body:
            parts.setdefault(section, []).append(body)
    values = {name: "\n".join(chunks) for name, chunks in parts.items()}
    return ReportSections(**values, order=tuple(parts))
