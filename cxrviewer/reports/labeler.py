"""Report text -> findings: a negation- and uncertainty-aware rule labeler, no model weights.

It reads the findings and impression of a report (indication and comparison are skipped: "rule
out pneumonia" in a history is not a finding), finds mentions of the labels in ``labels.py``,
and decides for each whether the report affirms, denies or hedges it from the cue words around
it (``vocabulary.py``) and their scopes (``rules.py``). CheXpert's rule then derives No Finding.

Statuses per label combine over mentions as CheXpert does: positive beats uncertain beats
negative. Spans index into the text passed to :func:`label_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cxrviewer.reports import labels as L
from cxrviewer.reports import rules as R
from cxrviewer.reports.normal_statements import mentions_study, normal_statements
from cxrviewer.reports.sections import section_spans

Status = Literal["positive", "negative", "uncertain"]
Span = tuple[int, int]

_RANK = {"negative": 0, "uncertain": 1, "positive": 2}
_LABEL_ORDER = {label: n for n, label in enumerate(L.ALL_LABELS)}
_BODY_SECTIONS = ("findings", "impression")


@dataclass(frozen=True)
class Finding:
    """One label's verdict in a report, with the character spans of the evidence."""

    label: str
    status: Status
    spans: tuple[Span, ...]
    severity: str | None = None
    laterality: str | None = None
    certainty: str | None = None  # for uncertain findings: "probable" or "possible"

    @property
    def likely_present(self) -> bool:
        """Positive, or hedged towards present ("probable", "likely", "X versus Y")."""
        return self.status == "positive" or (self.status == "uncertain" and self.certainty == "probable")

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "status": self.status, "spans": [list(s) for s in self.spans],
                "severity": self.severity, "laterality": self.laterality,
                "certainty": self.certainty}


@dataclass(frozen=True)
class LabelResult:
    """The findings of one text. Labels that are absent from ``findings`` were not mentioned.

    ``other_abnormal`` holds spans of abnormalities outside the label set (a calcified
    granuloma, scoliosis) and ``normal_spans`` the phrases that call the study normal; the
    stricter Open-i reading of "normal" needs both. ``about_chest`` says whether the text
    speaks of a chest study at all (a finding, anatomy, the examination, an abnormality
    outside the label set, affirmed or denied): CheXpert's No Finding is derived for any text,
    but only such a text can mean it ("the weather is nice" cannot).
    """

    findings: tuple[Finding, ...] = ()
    other_abnormal: tuple[Span, ...] = ()
    normal_spans: tuple[Span, ...] = ()
    about_chest: bool = False
    _by_label: dict[str, Finding] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_label.update({f.label: f for f in self.findings})

    def finding(self, label: str) -> Finding | None:
        return self._by_label.get(label)

    def status_of(self, label: str) -> str:
        """``positive``/``negative``/``uncertain``, or ``not_mentioned``."""
        found = self._by_label.get(label)
        return found.status if found else "not_mentioned"

    def likely_present(self, label: str) -> bool:
        """Positive, or uncertain with a "probable" hedge (see ``Finding.likely_present``)."""
        found = self._by_label.get(label)
        return bool(found and found.likely_present)

    def positive_labels(self, include_uncertain: bool = False) -> list[str]:
        wanted = ("positive", "uncertain") if include_uncertain else ("positive",)
        return [f.label for f in self.findings if f.status in wanted]

    def to_chexpert_dict(self) -> dict[str, float | None]:
        """CheXpert's coding of its 14 observations: 1.0, 0.0, -1.0, or None (blank)."""
        return {label: L.CHEXPERT_VALUES[self.status_of(label)] for label in L.CHEXPERT_LABELS}

    def is_normal(self) -> bool:
        """True when the report describes no abnormality at all and no device (Open-i's
        ``normal``), which is stricter than CheXpert's No Finding."""
        if self.status_of(L.NO_FINDING) != "positive" or self.other_abnormal:
            return False
        return self.status_of(L.SUPPORT_DEVICES) not in ("positive", "uncertain")

    def to_dict(self) -> dict[str, object]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "other_abnormal": [list(s) for s in self.other_abnormal],
            "normal_spans": [list(s) for s in self.normal_spans],
            "normal": self.is_normal(),
            "about_chest": self.about_chest,
        }


@dataclass
class _Evidence:
    status: str
    span: Span
    severity: str | None = None
    laterality: str | None = None
    certainty: str | None = None


def _certainty(status: str, cue: R.Item | None) -> str | None:
    if status != "uncertain" or cue is None:
        return None
    return cue.payload[0] if cue.payload else R.POSSIBLE


def label_text(text: str) -> LabelResult:
    """Label a report or a typed impression.

    Never raises on odd input: non-text, empty, garbage or huge text gives an empty or partial
    result, in time linear in its length.
    """
    if not isinstance(text, str) or not text.strip():
        return LabelResult()
    evidence: dict[str, list[_Evidence]] = {}
    other: list[Span] = []
    normal: list[Span] = []
    saw_words = about_chest = False
    for start, end in _body_ranges(text):
        for tokens in R.sentences(text, start, end):
            saw_words = saw_words or any(t.norm != R.COMMA for t in tokens)
            about_chest = _label_sentence(tokens, evidence, other, normal) or about_chest
    return _result(evidence, other, normal, saw_words, about_chest)


def _body_ranges(text: str) -> list[tuple[int, int]]:
    """Findings and impression ranges; if a headed text has neither, all but indication and
    comparison (better to label an odd layout than to say nothing)."""
    spans = section_spans(text)
    body = [(s.start, s.end) for s in spans if s.section in _BODY_SECTIONS]
    if body:
        return body
    return [(s.start, s.end) for s in spans if s.section == "other"]


_CHEST_KINDS = frozenset({R.MENTION, R.ANATOMY, R.OTHER, R.NORMAL, R.SIGN})


def _label_sentence(tokens: list[R.Token], evidence: dict[str, list[_Evidence]],
                    other: list[Span], normal: list[Span]) -> bool:
    """Add one sentence's evidence; True when it speaks of a chest study (``about_chest``)."""
    items = R.match_items(tokens)

    def span(it: R.Item) -> Span:
        return tokens[it.i].start, tokens[it.j - 1].end

    for p, it in enumerate(items):
        if it.kind == R.ANATOMY:
            _anatomy(items, p, tokens, evidence)
    for p, it in enumerate(items):
        if it.kind == R.MENTION:
            status, cue = R.status_and_cue(items, p)
            affirmed = status != "negative"
            ev = _Evidence(status, span(it), R.severity_near(tokens, it.i) if affirmed else None,
                           R.laterality_near(tokens, it.i, it.j) if affirmed else None,
                           _certainty(status, cue))
            for label in it.payload:
                evidence.setdefault(label, []).append(ev)
        elif it.kind == R.SIGN:
            _sign(items, p, tokens, span(it), evidence, other)
        elif it.kind == R.OTHER or (it.kind == R.P_ENLARGED and not it.used):
            if _abnormal(items, p):
                other.append(span(it))
        elif it.kind == R.NORMAL:
            normal.append(span(it))
    statements = normal_statements(tokens, items)
    normal.extend((tokens[i].start, tokens[j - 1].end) for i, j in statements)
    return bool(statements) or any(it.kind in _CHEST_KINDS for it in items) or mentions_study(tokens)


def _abnormal(items: list[R.Item], p: int) -> bool:
    """An abnormality outside the label set, affirmed (or probable) and not called normal."""
    status, cue = R.status_and_cue(items, p)
    if status == "uncertain" and _certainty(status, cue) == R.PROBABLE:
        status = "positive"
    return status == "positive" and not _normal_nearby(items, p)


def _sign(items: list[R.Item], p: int, tokens: list[R.Token], where: Span,
          evidence: dict[str, list[_Evidence]], other: list[Span]) -> None:
    """A sign that suggests a finding (``vocabulary.SUGGESTS``): the finding is at most
    possible, denied when the sign is; an affirmed sign is also an abnormality."""
    it = items[p]
    status, _ = R.status_and_cue(items, p)
    if status == "negative":
        ev = _Evidence("negative", where)
    else:
        ev = _Evidence("uncertain", where, R.severity_near(tokens, it.i),
                       R.laterality_near(tokens, it.i, it.j), R.POSSIBLE)
    for label in it.payload:
        evidence.setdefault(label, []).append(ev)
    if _abnormal(items, p):
        other.append(where)


def _anatomy(items: list[R.Item], p: int, tokens: list[R.Token],
             evidence: dict[str, list[_Evidence]]) -> None:
    """Link "heart size" to its predicate ("is normal", "enlarged", "upper limits of normal")
    and record the verdict the predicate gives, under the cues between them."""
    anatomy = items[p]
    q, floor = _predicate_before(items, p), -1
    if q is None:
        q, floor = _predicate_after(items, p), p
    if q is None:
        return
    pred = items[q]
    pred.used = True
    certainty = None
    if pred.kind == R.P_NORMAL:
        status = "negative"
    elif pred.kind == R.P_BORDER:
        status, certainty = "uncertain", R.PROBABLE
    else:
        status, cue = R.status_and_cue(items, q, floor)
        certainty = _certainty(status, cue)
    lo, hi = min(anatomy.i, pred.i), max(anatomy.j, pred.j)
    ev = _Evidence(status, (tokens[lo].start, tokens[hi - 1].end),
                   R.severity_near(tokens, lo) if status != "negative" else None,
                   certainty=certainty)
    for label in anatomy.payload:
        evidence.setdefault(label, []).append(ev)


def _predicate_after(items: list[R.Item], p: int) -> int | None:
    """The first predicate after the anatomy, across a list of anatomy sharing it ("heart
    size, mediastinal contour and vascularity are normal"); "upper limits normal or mildly
    enlarged" (a normal and an enlarged predicate together) is read as borderline."""
    end = items[p].j
    found: int | None = None
    for q in range(p + 1, len(items)):
        it = items[q]
        if it.kind in (R.ANATOMY, R.COMMA) and found is None:
            nxt = items[q + 1] if q + 1 < len(items) else None
            if it.kind == R.ANATOMY or (nxt is not None and nxt.kind in _LIST_GOES_ON):
                end = it.j
                continue
        if it.i - end > 8 or it.kind in (R.TERM, R.ANATOMY, R.MENTION, R.OTHER, R.SIGN, R.COMMA):
            break
        if it.kind in (R.P_ENLARGED, R.P_NORMAL, R.P_BORDER):
            if found is None:
                found = q
            elif {items[found].kind, it.kind} == {R.P_NORMAL, R.P_ENLARGED}:
                it.used = True
                items[found].kind = R.P_BORDER
                items[found].j = it.j
                break
    return found


_LIST_GOES_ON = (R.ANATOMY, R.VERB, R.P_NORMAL, R.P_ENLARGED, R.P_BORDER)


def _predicate_before(items: list[R.Item], p: int) -> int | None:
    """A predicate right before the anatomy ("normal heart size", "borderline heart size")."""
    if (p > 0 and items[p - 1].kind in (R.P_ENLARGED, R.P_NORMAL, R.P_BORDER) and not items[p - 1].used
            and items[p].i - items[p - 1].j <= 1):
        return p - 1
    return None


def _normal_nearby(items: list[R.Item], p: int) -> bool:
    """An abnormal-sounding word called normal in its phrase ("pulmonary markings are normal")."""
    for q in range(max(0, p - 2), min(len(items), p + 4)):
        if items[q].kind == R.P_NORMAL and abs(items[q].i - items[p].i) <= 7:
            return True
        if q > p and items[q].kind in (R.TERM,):
            break
    return False


def _result(evidence: dict[str, list[_Evidence]], other: list[Span], normal: list[Span],
            saw_words: bool, about_chest: bool) -> LabelResult:
    findings: list[Finding] = []
    normal_spans = _outermost(normal)
    for label, evs in evidence.items():
        best = max(evs, key=lambda e: _RANK[e.status]).status
        chosen = [e for e in evs if e.status == best]
        findings.append(Finding(
            label=label,
            status=best,  # type: ignore[arg-type]
            spans=tuple(sorted({e.span for e in chosen})),
            severity=next((e.severity for e in chosen if e.severity), None),
            laterality=_merge_sides(e.laterality for e in chosen),
            certainty=(R.PROBABLE if any(e.certainty == R.PROBABLE for e in chosen) else R.POSSIBLE)
            if best == "uncertain" else None,
        ))
    if saw_words and not any(f.status in ("positive", "uncertain") and f.label in L.PATHOLOGY_LABELS
                             for f in findings):
        findings.append(Finding(L.NO_FINDING, "positive", normal_spans))
    findings.sort(key=lambda f: _LABEL_ORDER[f.label])
    return LabelResult(tuple(findings), tuple(other), normal_spans, about_chest)


def _outermost(spans: list[Span]) -> tuple[Span, ...]:
    """Sorted spans without duplicates or spans inside another ("lungs are clear" is both a
    phrase and a normal statement)."""
    out: list[Span] = []
    for a, b in sorted(set(spans), key=lambda s: (s[0], -s[1])):
        if not out or b > out[-1][1]:
            out.append((a, b))
    return tuple(out)


def _merge_sides(sides) -> str | None:
    found = {s for s in sides if s}
    if not found:
        return None
    if len(found) > 1:
        return "bilateral"
    return found.pop()
