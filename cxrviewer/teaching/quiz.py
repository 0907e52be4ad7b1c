"""The self-scored quiz: a student's typed impression, read by the report labeler, against the
case's findings.

Per finding:

* **found**: the case has it (positive, or uncertain and probable) and the answer names it
  (a hedged "possible X" counts, flagged ``hedged``); a roll-up the case has (Lung Lesion,
  Pleural Other, Lung Opacity) is also found when the answer names one of its parts (a nodule);
* **missed**: the case has it, the answer does not;
* **overcalled**: the answer names it and the case does not have it (or denies it). A finding
  the case calls only *possible* is neither missed when left out nor overcalled when named.

For found findings the side and the severity are judged where the case's source states them:
``right``, ``wrong``, ``not_stated`` (the answer does not say) or ``not_judged`` (the case does
not say). Score in [0, 1]::

    credit(found) = (0.6 + 0.2 * side_ok + 0.2 * severity_ok) * (0.75 if hedged else 1)
        side_ok / severity_ok: 1 when right or not judged, 0 when wrong or not stated
    score = sum(credit) / (findings the case has + findings it may have that were named
                           + overcalls, each 1, or 0.5 when hedged)

A normal case answered "normal" (and nothing overcalled) scores 1; a normal case answered with
findings, or an answer in which nothing is recognised, scores 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cxrviewer.reports import labels as L
from cxrviewer.reports import vocabulary as V
from cxrviewer.teaching.model import Case, KnownFinding

FOUND, MISSED, OVERCALLED = "found", "missed", "overcalled"
BASE_CREDIT, SIDE_CREDIT, SEVERITY_CREDIT, HEDGED_FACTOR, HEDGED_OVERCALL = 0.6, 0.2, 0.2, 0.75, 0.5
# Roll-up label -> the labels it is made of (a nodule is a Lung Lesion, see reports.labels).
ROLL_UPS: dict[str, frozenset[str]] = {
    L.LUNG_LESION: frozenset({L.NODULE, L.MASS}),
    L.PLEURAL_OTHER: frozenset({L.PLEURAL_THICKENING}),
    L.LUNG_OPACITY: frozenset({L.INFILTRATION, L.CONSOLIDATION, L.PNEUMONIA, L.EDEMA,
                               L.ATELECTASIS, L.LUNG_LESION, L.NODULE, L.MASS}),
}


@dataclass(frozen=True)
class FindingVerdict:
    label: str
    outcome: str  # found | missed | overcalled
    side: str = "not_judged"  # right | wrong | not_stated | not_judged
    severity: str = "not_judged"
    expected_side: str | None = None
    answered_side: str | None = None
    expected_severity: str | None = None
    answered_severity: str | None = None
    hedged: bool = False
    answer_spans: tuple[tuple[int, int], ...] = ()
    credit: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["answer_spans"] = [list(s) for s in self.answer_spans]
        out["credit"] = round(self.credit, 4)
        return out


@dataclass(frozen=True)
class Verdict:
    """The quiz's reading of one answer; ``evidence`` maps each of the case's findings to its
    character spans in ``report`` (what the reveal highlights)."""

    answer: str
    findings: tuple[FindingVerdict, ...]
    score: float
    case_normal: bool
    answer_normal: bool
    understood: bool
    message: str = ""
    report: str = ""
    evidence: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def outcome(self, label: str) -> FindingVerdict | None:
        return next((f for f in self.findings if f.label == label), None)

    def labels(self, outcome: str) -> list[str]:
        return [f.label for f in self.findings if f.outcome == outcome]

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer, "score": round(self.score, 4),
                "case_normal": self.case_normal, "answer_normal": self.answer_normal,
                "understood": self.understood, "message": self.message,
                "found": self.labels(FOUND), "missed": self.labels(MISSED),
                "overcalled": self.labels(OVERCALLED),
                "findings": [f.to_json() for f in self.findings],
                "evidence": {k: [list(s) for s in v] for k, v in self.evidence.items()}}


def report_segments(report: str, evidence: dict[str, list[tuple[int, int]]]) -> list[tuple[str, str]]:
    """The report cut into (text, label) pieces, label "" outside the evidence: what the reveal
    shows with the evidence highlighted (overlapping spans: the first label wins)."""
    marks = sorted((a, b, label) for label, spans in evidence.items() for a, b in spans)
    pieces: list[tuple[str, str]] = []
    at = 0
    for a, b, label in marks:
        a = max(a, at)
        if b <= a:
            continue
        if a > at:
            pieces.append((report[at:a], ""))
        pieces.append((report[a:b], label))
        at = b
    if at < len(report):
        pieces.append((report[at:], ""))
    return pieces


def case_truth(case: Case) -> tuple[KnownFinding, ...]:
    """What a collection case is scored against: its film's known findings, else the labeler's
    reading of its report, else of the teacher's findings and diagnosis."""
    from cxrviewer.teaching.films import findings_from_report

    if case.known_findings:
        return case.known_findings
    if case.report.strip():
        return findings_from_report(case.report)
    written = "\n".join(t for t in (case.teaching.findings, case.teaching.diagnosis) if t.strip())
    return findings_from_report(written)


def score_case(case: Case, answer: str) -> Verdict:
    return score_answer(answer, case_truth(case), case.report)


def answer_case(store: Any, case_id: str, answer: str, session_id: str) -> tuple[Verdict, Any]:
    """Score a student's answer to a collection case and save the attempt (the session's quiz)."""
    verdict = score_case(store.case(case_id), answer)
    attempt = store.record_attempt(case_id, session_id, answer, verdict.score, verdict.to_json())
    return verdict, attempt


def score_answer(answer: str, truth: Sequence[KnownFinding], report: str = "") -> Verdict:
    """Score ``answer`` against the case's findings ``truth`` (``report`` gives the evidence)."""
    from cxrviewer.reports.labeler import label_text

    read = label_text(answer)
    named = {f.label: f for f in read.findings if f.status != "negative" and f.label != L.NO_FINDING}
    # "nodule" is also read as Lung Lesion: the roll-up is judged through its part
    named = {k: v for k, v in named.items() if not ROLL_UPS.get(k, frozenset()) & named.keys()}
    has = {k.label: k for k in truth if k.label != L.NO_FINDING and _has(k)}
    may = {k.label: k for k in truth if k.label != L.NO_FINDING and _may_have(k)}
    answer_normal = (not named and read.about_chest and read.status_of(L.NO_FINDING) == "positive")
    understood = bool(named) or answer_normal
    verdicts = [_judge(label, has[label], named) for label in sorted(has, key=_order)]
    verdicts += [_judge(label, may[label], named) for label in sorted(may, key=_order) if label in named]
    for label in sorted(set(named) - set(has) - set(may), key=_order):
        said = named[label]
        verdicts.append(FindingVerdict(label, OVERCALLED, answered_side=said.laterality,
                                       answered_severity=_severity(said.severity),
                                       hedged=not said.likely_present, answer_spans=said.spans))
    return Verdict(answer, tuple(verdicts), _score(verdicts, not has, answer_normal),
                   not has and not may, answer_normal, understood,
                   "" if understood else "no finding or normal statement recognised in the answer",
                   report, _evidence(report, set(has) | set(may)))


def _has(known: KnownFinding) -> bool:
    return known.status == "positive" or (known.status == "uncertain" and known.certainty == "probable")


def _may_have(known: KnownFinding) -> bool:
    return known.status == "uncertain" and known.certainty != "probable"


def _order(label: str) -> int:
    return L.ALL_LABELS.index(label) if label in L.ALL_LABELS else len(L.ALL_LABELS)


def _judge(label: str, known: KnownFinding, named: dict[str, Any]) -> FindingVerdict:
    said = named.get(label)
    if said is None:
        parts = ROLL_UPS.get(label, frozenset()) & named.keys()
        if parts:  # the answer named a part of this roll-up: found, nothing more to judge
            spans = tuple(s for p in sorted(parts) for s in named[p].spans)
            return FindingVerdict(label, FOUND, answer_spans=spans, credit=1.0,
                                  expected_side=known.laterality, expected_severity=_severity(known.severity))
        return FindingVerdict(label, MISSED, expected_side=known.laterality,
                              expected_severity=_severity(known.severity))
    side = _compare(_side(known.laterality), _side(said.laterality))
    severity = _compare(_severity(known.severity), _severity(said.severity))
    hedged = not said.likely_present
    credit = BASE_CREDIT + SIDE_CREDIT * (side in ("right", "not_judged")) \
        + SEVERITY_CREDIT * (severity in ("right", "not_judged"))
    return FindingVerdict(label, FOUND, side, severity, known.laterality, said.laterality,
                          _severity(known.severity), _severity(said.severity), hedged, said.spans,
                          credit * (HEDGED_FACTOR if hedged else 1.0))


def _compare(expected: str | None, answered: str | None) -> str:
    if expected is None:
        return "not_judged"
    if answered is None:
        return "not_stated"
    return "right" if expected == answered else "wrong"


def _side(word: str | None) -> str | None:
    return V.LATERALITY.get(word.lower(), word.lower()) if word else None


def _severity(word: str | None) -> str | None:
    return V.SEVERITY.get(word.lower(), word.lower()) if word else None


def _score(verdicts: Iterable[FindingVerdict], case_normal: bool, answer_normal: bool) -> float:
    verdicts = list(verdicts)
    credit = sum(v.credit for v in verdicts if v.outcome == FOUND)
    weight = sum(1.0 for v in verdicts if v.outcome in (FOUND, MISSED))
    weight += sum(HEDGED_OVERCALL if v.hedged else 1.0 for v in verdicts if v.outcome == OVERCALLED)
    if weight == 0:
        return 1.0 if case_normal and answer_normal else 0.0
    return max(0.0, min(1.0, credit / weight))


def _evidence(report: str, labels: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Where the report states each of the case's findings (character spans into it)."""
    if not report.strip():
        return {}
    from cxrviewer.reports.labeler import label_text

    read = label_text(report)
    out: dict[str, list[tuple[int, int]]] = {}
    for label in sorted(labels, key=_order):
        found = read.finding(label)
        if found is not None and found.spans:
            out[label] = [(start, end) for start, end in found.spans]
    return out
