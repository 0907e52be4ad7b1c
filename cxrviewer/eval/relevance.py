"""When is a retrieved case relevant to a query case? Judged from findings alone.

A case's findings map label -> ``"positive"``, ``"negative"`` or ``"uncertain"``; an absent
label was not mentioned. Every rule here compares *positive label sets*:

- ``uncertain_as="negative"`` (default) counts only ``"positive"``; ``"positive"`` also counts
  ``"uncertain"``. The default follows the common U-zeros reading: a hedged finding is not a
  finding a teacher would search by, and it keeps the sets comparable across datasets whose
  coders did not mark uncertainty at all (ChestX-ray14, Open-i).
- ``No Finding`` is dropped from the set (``IGNORED``): a normal case is the *empty* set, so
  two normal cases agree whether or not their dataset coded ``No Finding`` explicitly.
  ``Support Devices`` is kept, as in the CheXpert label vector; pass ``ignore`` to drop it.

Rules (``RULES``):

``exact``
    BenchX's rule: the query's positive set equals the hit's. Two normal cases match.
``any_shared``
    The sets share at least one label; for a normal query a normal hit is relevant (and an
    abnormal one is not), so normal queries are not scored as hopeless.

Graded relevance for nDCG is the Jaccard index (IoU) of the two sets, 1.0 when both are empty.

Counting relevant items in the collection (for recall, AP and the nDCG ideal) goes through
``set_counts`` once per collection and ``judge_collection`` per query. The query itself must not
count: pass ``query_in_collection=True`` when it is in the counted collection. Leaving out the
query patient's other images is the caller's choice (it must match what the index returns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cxrviewer.reports.labels import NO_FINDING

UncertainAs = Literal["positive", "negative"]
Findings = Mapping[str, str]

STATUSES: frozenset[str] = frozenset({"positive", "negative", "uncertain"})
IGNORED: frozenset[str] = frozenset({NO_FINDING})


def positive_set(
    findings: Findings, uncertain_as: UncertainAs = "negative", ignore: Collection[str] = IGNORED
) -> frozenset[str]:
    """The labels counted as present, the basis of every rule.

    Raises ``ValueError`` on an unknown status (a raw ``"1.0"`` from a CSV, say) rather than
    silently treating it as absent, which would quietly turn sick cases normal.
    """
    if uncertain_as not in ("positive", "negative"):
        raise ValueError(f"uncertain_as must be 'positive' or 'negative', not {uncertain_as!r}")
    wanted = ("positive", "uncertain") if uncertain_as == "positive" else ("positive",)
    present = set()
    for label, status in findings.items():
        if status not in STATUSES:
            raise ValueError(f"finding {label!r} has unknown status {status!r}")
        if status in wanted and label not in ignore:
            present.add(label)
    return frozenset(present)


def _exact(q: frozenset[str], h: frozenset[str]) -> bool:
    return q == h


def _shared(q: frozenset[str], h: frozenset[str]) -> bool:
    return bool(q & h) if q else not h


def _iou(q: frozenset[str], h: frozenset[str]) -> float:
    union = q | h
    return len(q & h) / len(union) if union else 1.0


def exact_match(
    query: Findings, hit: Findings, uncertain_as: UncertainAs = "negative", ignore: Collection[str] = IGNORED
) -> bool:
    """BenchX's rule: same positive set (two normal cases match)."""
    return _exact(positive_set(query, uncertain_as, ignore), positive_set(hit, uncertain_as, ignore))


def shares_positive(
    query: Findings, hit: Findings, uncertain_as: UncertainAs = "negative", ignore: Collection[str] = IGNORED
) -> bool:
    """At least one shared positive; a normal query is answered by normal hits only."""
    return _shared(positive_set(query, uncertain_as, ignore), positive_set(hit, uncertain_as, ignore))


def finding_iou(
    query: Findings, hit: Findings, uncertain_as: UncertainAs = "negative", ignore: Collection[str] = IGNORED
) -> float:
    """Jaccard index of the positive sets, the graded gain for nDCG; 1.0 when both are empty."""
    return _iou(positive_set(query, uncertain_as, ignore), positive_set(hit, uncertain_as, ignore))


# Rule name -> judge on positive sets; the names are the keys of every report.
_SET_RULES: dict[str, Callable[[frozenset[str], frozenset[str]], bool]] = {
    "exact": _exact,
    "any_shared": _shared,
}
RULES: tuple[str, ...] = tuple(_SET_RULES)


def judge_hits(
    query: Findings,
    hits: Iterable[Findings],
    uncertain_as: UncertainAs = "negative",
    ignore: Collection[str] = IGNORED,
) -> tuple[dict[str, list[bool]], list[float]]:
    """Relevance of a ranked list under every rule, and each hit's IoU, in rank order."""
    q = positive_set(query, uncertain_as, ignore)
    rels: dict[str, list[bool]] = {name: [] for name in _SET_RULES}
    ious: list[float] = []
    for findings in hits:
        h = positive_set(findings, uncertain_as, ignore)
        for name, rule in _SET_RULES.items():
            rels[name].append(rule(q, h))
        ious.append(_iou(q, h))
    return rels, ious


def set_counts(
    collection: Iterable[Findings], uncertain_as: UncertainAs = "negative", ignore: Collection[str] = IGNORED
) -> Counter[frozenset[str]]:
    """How many collection cases have each positive set; computed once per collection.

    Collections have few distinct sets (hundreds) but many cases, so judging a query against
    the counts is cheap where judging it against every case would be O(cases) per query.
    """
    return Counter(positive_set(findings, uncertain_as, ignore) for findings in collection)


@dataclass(frozen=True)
class CollectionJudgement:
    """What the metrics need to know about the whole collection for one query.

    ``n_relevant`` maps each rule name to its count of relevant items (for recall and AP);
    ``ideal_gains`` holds the best IoU gains in the collection, highest first (the ideal
    ranking for nDCG; zeros add nothing to DCG and are left out). ``uncertain_as`` and
    ``ignore`` record how it was judged, so a report can refuse hits judged another way.
    """

    n_relevant: Mapping[str, int]
    ideal_gains: tuple[float, ...]
    uncertain_as: UncertainAs = "negative"
    ignore: frozenset[str] = IGNORED


def judge_collection(
    query: Findings,
    counts: Mapping[frozenset[str], int],
    uncertain_as: UncertainAs = "negative",
    ignore: Collection[str] = IGNORED,
    query_in_collection: bool = False,
    keep: int = 1000,
) -> CollectionJudgement:
    """Relevant-item counts under every rule, and the ideal gains, from ``set_counts``.

    Pass ``query_in_collection=True`` when the query case itself is among ``counts`` (leave-
    one-out): it is then taken out once, since a query must not count itself as relevant.
    ``counts`` must be built with the same ``uncertain_as`` and ``ignore``. Only the ``keep``
    best gains are kept: nDCG@K is exact for every K <= ``keep``.
    """
    q = positive_set(query, uncertain_as, ignore)
    if query_in_collection and counts.get(q, 0) < 1:
        raise ValueError("query_in_collection=True but no case in counts has the query's positive set")
    n_relevant = dict.fromkeys(_SET_RULES, 0)
    by_gain: Counter[float] = Counter()
    for h, n in counts.items():
        if query_in_collection and h == q:
            n -= 1
        if n <= 0:
            continue
        for name, rule in _SET_RULES.items():
            n_relevant[name] += n if rule(q, h) else 0
        gain = _iou(q, h)
        if gain > 0:
            by_gain[gain] += n
    gains: list[float] = []
    for gain in sorted(by_gain, reverse=True):
        gains.extend([gain] * min(by_gain[gain], keep - len(gains)))
        if len(gains) >= keep:
            break
    return CollectionJudgement(n_relevant, tuple(gains), uncertain_as, frozenset(ignore))
