"""The label route: rank cases by how well their findings agree with the query's findings.

The score is a sum over labels of a weight that depends on the query's status and the case's
status (``WEIGHTS``), divided by the best score the query allows, so a perfect match is 1.0:

- a finding the query asks for rewards a case that has it (uncertain counts half) and is
  penalised when the case's report denies it;
- a finding the query negates ("no effusion") penalises cases that have it;
- a finding the query does not mention costs a little when the case has it, so "cardiomegaly"
  ranks a case with cardiomegaly alone above one with cardiomegaly and four other findings;
- each severity or side the query gives ("small left effusion") adds ``DETAIL_WEIGHT`` when the
  case's report agrees and takes it away when it contradicts (a right effusion), so the wrong
  side ranks below the right side with a minor extra finding.

The findings part is the same for cases with the same findings, and a library has few distinct
finding patterns, so the route scores each pattern once and adds the detail part per case. Ties
are then broken by word overlap between the query and the case's report, then the case id
(stable), never by row order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from cxrviewer.library.store import FindingDetail
from cxrviewer.reports.labels import ALL_LABELS, NO_FINDING

QUERY_STATUSES = ("positive", "uncertain", "negative", "")
CASE_STATUSES = ("positive", "uncertain", "negative", "")

# WEIGHTS[query status][case status]; "" is "not mentioned".
WEIGHTS: dict[str, dict[str, float]] = {
    "positive": {"positive": 1.0, "uncertain": 0.5, "negative": -0.5, "": 0.0},
    "uncertain": {"positive": 0.5, "uncertain": 0.5, "negative": -0.25, "": 0.0},
    "negative": {"positive": -1.0, "uncertain": -0.5, "negative": 0.0, "": 0.0},
    "": {"positive": -0.2, "uncertain": -0.1, "negative": 0.0, "": 0.0},
}
# "No Finding" is not a finding: having it is no extra burden on a case the query did not ask
# about (a query that only negates, "no pneumothorax", then prefers normal films).
_NO_EXTRA_COST = {NO_FINDING}

DETAIL_WEIGHT = 0.25
_CODE_INDEX = {"p": 0, "u": 1, "n": 2, "-": 3}
_WORD_RE = re.compile(r"[a-z]+")
_STOPWORDS = frozenset(
    "a an and are as at be by for from in is it no not of on or the there this to with without "
    "seen noted again present identified evidence stable unchanged".split())


@dataclass(frozen=True)
class LabelQuery:
    """The findings a query states, with the severity and laterality it gives them."""

    statuses: dict[str, str]
    details: dict[str, FindingDetail] = field(default_factory=dict)
    text: str = ""

    @property
    def best_score(self) -> float:
        findings = sum(WEIGHTS[s][s] for s in self.statuses.values() if s != "negative")
        return findings + DETAIL_WEIGHT * self.detail_count

    @property
    def detail_count(self) -> int:
        """Severities and sides given for findings the query asks for."""
        return sum(bool(d.severity) + bool(d.laterality) for label, d in self.details.items()
                   if self.statuses.get(label) in ("positive", "uncertain"))

    @property
    def max_detail_swing(self) -> float:
        """How far details can move a case's score up or down (normalised)."""
        best = self.best_score
        return DETAIL_WEIGHT * self.detail_count / best if best > 0 else 0.0

    @property
    def is_empty(self) -> bool:
        return not self.statuses


def query_from_text(text: str) -> LabelQuery:
    """Label the query text with the report labeler (negations and hedges included)."""
    from cxrviewer.reports.labeler import label_text

    result = label_text(text)
    # CheXpert's rule makes No Finding positive whenever no pathology is mentioned. A query
    # asks for it when it says the study is normal ("normal exam", "no acute cardiopulmonary
    # process"), or when it names nothing in the label set but speaks of a chest film
    # (scoliosis, "no active tuberculosis", "stable appearance of the chest": no labelled
    # finding, the text tie-break then prefers films that say so); not for "no pneumothorax",
    # which keeps the query to what it names, nor for text about something else.
    named = any(f.label != NO_FINDING for f in result.findings)
    statuses: dict[str, str] = {f.label: f.status for f in result.findings
                if f.label != NO_FINDING or result.normal_spans or (result.about_chest and not named)}
    details = {f.label: FindingDetail(f.severity, f.laterality)
               for f in result.findings if f.severity or f.laterality}
    return LabelQuery(statuses, details, text)


def query_from_findings(findings: dict[str, str], details: dict[str, FindingDetail] | None = None,
                        text: str = "") -> LabelQuery:
    return LabelQuery(dict(findings), dict(details or {}), text)


def pattern_codes(patterns: list[str]) -> np.ndarray:
    """(n patterns, n labels) int8 status codes of finding patterns (see ``store.pattern_of``)."""
    return np.array([[_CODE_INDEX[ch] for ch in p] for p in patterns], np.int8).reshape(
        len(patterns), len(ALL_LABELS))


def pattern_scores(query: LabelQuery, patterns: list[str], codes: np.ndarray | None = None) -> np.ndarray:
    """The score of each finding pattern (see ``store.pattern_of``) for ``query``, in [-inf, 1];
    ``codes`` are the patterns' :func:`pattern_codes` when the caller keeps them."""
    table = np.zeros((len(ALL_LABELS), 4), np.float64)
    for i, label in enumerate(ALL_LABELS):
        q = query.statuses.get(label, "")
        for j, c in enumerate(CASE_STATUSES):
            table[i, j] = 0.0 if (q == "" and label in _NO_EXTRA_COST) else WEIGHTS[q][c]
    codes = pattern_codes(patterns) if codes is None else codes
    raw = table[np.arange(len(ALL_LABELS)), codes].sum(axis=1)
    best = query.best_score
    return raw / best if best > 0 else raw


def detail_agreement(query: LabelQuery, details: dict[str, FindingDetail]) -> float:
    """The detail part of the score: +DETAIL_WEIGHT per severity or side the case's report
    shares with the query, -DETAIL_WEIGHT per one it contradicts, nothing where it is silent;
    normalised like ``pattern_scores``."""
    best = query.best_score
    score = 0.0
    for label, wanted in query.details.items():
        if query.statuses.get(label) not in ("positive", "uncertain"):
            continue
        have = details.get(label, FindingDetail())
        for want, got in ((wanted.severity, have.severity), (wanted.laterality, have.laterality)):
            if want and got:
                score += DETAIL_WEIGHT if got == want else -DETAIL_WEIGHT
    return score / best if best > 0 else 0.0


def words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS)


def text_overlap(query_words: frozenset[str], text: str) -> float:
    """Jaccard overlap of content words: "mild cardiomegaly" prefers a report that says so."""
    if not query_words:
        return 0.0
    other = words(text)
    union = query_words | other
    return len(query_words & other) / len(union) if union else 0.0
