"""Searching within collections: by text, by finding and by tag.

A finding is matched against what the case's film shows (its known findings, positive or
probably present) and what the teacher wrote as findings and diagnosis, read by the labeler;
the query may name a label ("Pleural Effusion") or say it in words ("effusion").
"""

from __future__ import annotations

from cxrviewer.reports.labels import ALL_LABELS, NO_FINDING
from cxrviewer.teaching.model import Case, KnownFinding


def wanted_labels(finding: str) -> frozenset[str]:
    """The labels a finding query asks for: a label by name, else what the labeler reads in it."""
    from cxrviewer.reports.labeler import label_text

    query = finding.strip()
    for label in ALL_LABELS:
        if label.casefold() == query.casefold():
            return frozenset({label})
    read = label_text(query)
    labels = frozenset(f.label for f in read.findings if f.status != "negative" and f.label != NO_FINDING)
    if not labels and read.normal_spans and read.status_of(NO_FINDING) == "positive":
        return frozenset({NO_FINDING})  # "normal": what the labeler derives for a normal report
    return labels or frozenset({f"(unknown finding: {query})"})  # matches nothing


def likely_present(known: KnownFinding) -> bool:
    return known.status == "positive" or (known.status == "uncertain" and known.certainty == "probable")


def shown_labels(case: Case) -> frozenset[str]:
    """The labels the case shows: its film's known findings and the teacher's findings/diagnosis."""
    from cxrviewer.reports.labeler import label_text

    labels = {k.label for k in case.known_findings if likely_present(k)}
    written = "\n".join(t for t in (case.teaching.findings, case.teaching.diagnosis) if t.strip())
    if written:
        labels.update(f.label for f in label_text(written).findings if f.likely_present)
    return frozenset(labels)


def matches(case: Case, text: str, labels: frozenset[str] | None, tag: str) -> bool:
    if tag.strip() and tag.strip().casefold() not in {t.casefold() for t in case.teaching.tags}:
        return False
    if text.strip():
        haystack = "\n".join((*case.teaching.texts(), case.report)).casefold()
        if not all(word in haystack for word in text.casefold().split()):
            return False
    return labels is None or bool(labels & shown_labels(case))
