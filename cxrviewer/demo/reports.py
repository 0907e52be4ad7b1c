"""The demo reports: indication, findings and impression written from ``report_templates.json``.

The wording is data (the JSON file, described in its ``_about``); this module only fills the
placeholders and draws among options. Every sentence carries the labels it states, so the
generator knows the truth of the report it wrote (what the labeler should read back).

Draws are a contract: a list of options takes one ``rng.integers(len)`` draw, fixed text none,
in the same order as ever, so a seed gives the same reports it always gave.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

import numpy as np

from cxrviewer.demo.phantom import SEVERITIES
from cxrviewer.demo.plan import SIDE_WORD, Plan
from cxrviewer.imaging.synthetic import DEMO_MARK
from cxrviewer.reports import labels as L
from cxrviewer.reports.sections import ReportSections

TEMPLATES = "report_templates.json"
NOT_REAL = DEMO_MARK  # said in every report, DICOM header and README of the demo data
STATUSES = ("negative", "uncertain", "positive")
Truth = dict[str, str]
T = TypeVar("T")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}  # positive beats uncertain beats negative


@dataclass(frozen=True)
class Sentence:
    """A template and the labels (label -> status) the filled-in sentence states."""

    text: str
    labels: tuple[tuple[str, str], ...]


Slot = Sentence | tuple[Sentence, ...]  # fixed text, or options to draw one from


@dataclass(frozen=True)
class StatusTemplates:
    """What a finding of one kind and status adds: findings sentences, then an impression."""

    findings: Slot | None  # None: one fixed sentence per part of ``where`` (``findings_each``)
    findings_each: dict[str, Sentence]
    impression: Slot


@dataclass(frozen=True)
class KindTemplates:
    """The wording of one finding kind: its severity words, noun, size format and sentences."""

    severity_words: tuple[str, str, str]
    noun_one_side: str
    noun_both_sides: str
    size: str  # a format of ``mm`` and ``cm``; empty where the kind has no size
    statuses: dict[str, StatusTemplates]


@dataclass(frozen=True)
class ReportTemplates:
    """The whole file, parsed: per-kind sentences, pertinent negatives, normal reports, indications."""

    adverbs: dict[str, str]
    kinds: dict[str, KindTemplates]
    negative_pairs: tuple[tuple[Sentence, frozenset[str]], ...]
    negative_chance: float
    negatives: dict[str, tuple[bool, tuple[Sentence, ...]]]  # kind -> (always mentioned, options)
    normal_before: str
    normal_after: str
    normal_impression: tuple[str, ...]
    indications: tuple[str, ...]
    indication_prefix: dict[str, str]


@lru_cache(maxsize=1)
def templates() -> ReportTemplates:
    """The shipped templates (package data), read and checked once."""
    text = resources.files("cxrviewer.demo").joinpath(TEMPLATES).read_text(encoding="utf-8")
    return parse_templates(json.loads(text))


def parse_templates(data: dict[str, Any]) -> ReportTemplates:
    """Templates from the JSON structure; a missing part, or a label or status the labeler does not
    know, is a ``ValueError`` that names it."""
    try:
        return _parse(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{TEMPLATES}: malformed, at {exc!r}") from exc


def _parse(data: dict[str, Any]) -> ReportTemplates:
    words = data["severity_words"]
    kinds = {}
    for kind, spec in data["findings"].items():
        noun = spec.get("noun", {"one side": kind, "both sides": kind})
        statuses = {status: _status(spec[status]) for status in ("uncertain", "positive") if status in spec}
        kinds[kind] = KindTemplates(tuple(words.get(kind, words["default"])), noun["one side"],
                                    noun["both sides"], spec.get("size", ""), statuses)
    negatives = data["negatives"]
    return ReportTemplates(
        adverbs=dict(data["adverbs"]), kinds=kinds,
        negative_pairs=tuple((_sentence(p, {}), frozenset(p["covers"])) for p in data["negative_pairs"]),
        negative_chance=float(negatives["mention_chance"]),
        negatives={kind: (bool(spec.get("always", False)), _options(spec["sentences"], spec["labels"]))
                   for kind, spec in negatives["kinds"].items()},
        normal_before=data["normal"]["findings_before"], normal_after=data["normal"]["findings_after"],
        normal_impression=tuple(data["normal"]["impression"]), indications=tuple(data["indications"]),
        indication_prefix=dict(data["indication_prefix"]))


def _status(spec: dict[str, Any]) -> StatusTemplates:
    labels = spec["labels"]
    each = {part: _sentence(text, labels) for part, text in spec.get("findings_each", {}).items()}
    findings = _slot(spec["findings"], labels) if "findings" in spec else None
    return StatusTemplates(findings, each, _slot(spec["impression"], labels))


def _slot(value: object, labels: dict[str, str]) -> Slot:
    return _options(value, labels) if isinstance(value, list) else _sentence(value, labels)


def _options(values: list[Any], labels: dict[str, str]) -> tuple[Sentence, ...]:
    return tuple(_sentence(v, labels) for v in values)


def _sentence(value: object, labels: dict[str, str]) -> Sentence:
    text, own = (value["text"], value.get("labels", labels)) if isinstance(value, dict) else (value, labels)
    for label, status in own.items():
        if label not in L.ALL_LABELS or status not in STATUSES:
            raise ValueError(f"{TEMPLATES}: {text!r} states {label!r}: {status!r}, not a known label and status")
    return Sentence(str(text), tuple(own.items()))


# --- writing ------------------------------------------------------------------------------


def write_report(plan: Plan, details: dict[str, dict[str, object]],
                 rng: np.random.Generator) -> tuple[ReportSections, Truth]:
    """Indication / findings / impression for a plan, and the label statuses the text states."""
    t = templates()
    truth: Truth = {}
    found: list[str] = []
    impression: list[str] = []
    present = {f[0] for f in plan.findings}
    for kind, side, sev, where, status in plan.findings:
        sents, imp = finding_sentences(kind, side, sev, where, status, details.get(kind, {}), rng)
        for text, labels in sents:
            found.append(text)
            _merge(truth, labels)
        impression.append(imp[0])
        _merge(truth, imp[1])
    negatives = _negative_sentences(present, rng)
    for _, labels in negatives:
        _merge(truth, labels)
    if not plan.findings:
        found = [t.normal_before] + [text for text, _ in negatives] + [t.normal_after]
        impression = [_pick(t.normal_impression, rng)]
    else:
        found = found + [text for text, _ in negatives]
    if not any(truth.get(lab) in ("positive", "uncertain") for lab in L.PATHOLOGY_LABELS):
        truth[L.NO_FINDING] = "positive"
    indication = t.indication_prefix.get(plan.view, "") + _pick(t.indications, rng)
    sections = ReportSections(indication=indication, findings=" ".join(found),
                              impression=" ".join(impression),
                              order=("indication", "findings", "impression"))
    return sections, truth


Stated = tuple[str, dict[str, str]]


def finding_sentences(kind: str, side: int, sev: str, where: str, status: str, details: dict[str, object],
                      rng: np.random.Generator) -> tuple[list[Stated], Stated]:
    """(findings sentences, impression sentence) of one finding, each with the labels it states."""
    spec = templates().kinds.get(kind)
    if spec is None or status not in spec.statuses:
        raise ValueError(f"{TEMPLATES} has no sentences for {kind} ({status})")
    words = placeholders(kind, side, sev, where, details)
    chosen = spec.statuses[status]
    if chosen.findings is None:
        found = [chosen.findings_each[part] for part in where.split("+") if part in chosen.findings_each]
    else:
        found = [_draw(chosen.findings, rng)]
    return [_fill(s, words) for s in found], _fill(_draw(chosen.impression, rng), words)


def placeholders(kind: str, side: int, sev: str, where: str, details: dict[str, object]) -> dict[str, str]:
    """The values of ``{word}``, ``{side}``, ... for one finding (capitalised as ``{Word}`` ...)."""
    t = templates()
    spec = t.kinds[kind]
    mm = int(details.get("size_mm", 10))  # type: ignore[call-overload]
    words = {
        "word": spec.severity_words[SEVERITIES.index(sev)], "side": SIDE_WORD[side], "where": where,
        "noun": spec.noun_both_sides if side == 0 else spec.noun_one_side, "adverb": t.adverbs[sev],
        "kind": kind, "rib": _ordinal(int(details.get("rib", 6))),  # type: ignore[call-overload]
        "size": spec.size.format(mm=mm, cm=mm / 10),
    }
    return words | {name.capitalize(): _cap(value) for name, value in words.items()}


def _fill(sentence: Sentence, words: dict[str, str]) -> Stated:
    try:
        return sentence.text.format(**words), dict(sentence.labels)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{TEMPLATES}: cannot fill {sentence.text!r}: {exc!r}") from exc


def _draw(slot: Slot, rng: np.random.Generator) -> Sentence:
    return slot if isinstance(slot, Sentence) else _pick(slot, rng)


def _pick(options: Sequence[T], rng: np.random.Generator) -> T:
    """One of ``options``: one ``rng.integers`` draw, whatever their number."""
    return options[int(rng.integers(len(options)))]


def _negative_sentences(present: set[str], rng: np.random.Generator) -> list[Stated]:
    """The pertinent negatives: a pair sentence when it fits, then some single negatives."""
    t = templates()
    out: list[Stated] = []
    pair, covers = _pick(t.negative_pairs, rng)
    covered: set[str] = set()
    if not present & covers:
        out.append((pair.text, dict(pair.labels)))
        covered |= covers
    for kind, (always, options) in t.negatives.items():
        if kind in present or kind in covered:
            continue
        if always or rng.random() < t.negative_chance:
            chosen = _pick(options, rng)
            out.append((chosen.text, dict(chosen.labels)))
    return out


def _merge(truth: Truth, labels: dict[str, str]) -> None:
    """Combine as the labeler does: positive beats uncertain beats negative."""
    for label, status in labels.items():
        if label not in truth or _RANK[status] > _RANK[truth[label]]:
            truth[label] = status


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def report_text(sections: ReportSections) -> str:
    """report.txt: a titled, headed free-text report, clearly labelled as synthetic."""
    return (f"EXAMINATION: CHEST RADIOGRAPH ({NOT_REAL.lower()})\n\n"
            f"INDICATION: {sections.indication}\n\nFINDINGS: {sections.findings}\n\n"
            f"IMPRESSION: {sections.impression}\n")
