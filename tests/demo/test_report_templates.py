"""The report templates (package data): every sentence fills in and states known labels, lists are
drawn once each in file order, and a broken template is refused with its text in the message."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from cxrviewer.demo import phantom, plan
from cxrviewer.demo import reports as R
from cxrviewer.reports.labels import ALL_LABELS


class ScriptedRng:
    """Answers ``integers(n)`` with a fixed option index (capped at n - 1) and records each n."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.calls: list[int] = []

    def integers(self, n: int) -> int:
        self.calls.append(n)
        return min(self.index, n - 1)


def _where(kind: str) -> str:
    return "ett+cvc+pacemaker" if kind == "devices" else "right lower lobe"


def _options(slot: R.Slot | None) -> tuple[R.Sentence, ...]:
    return () if slot is None else slot if isinstance(slot, tuple) else (slot,)


def test_every_planned_kind_has_sentences_for_the_statuses_it_is_planned_with() -> None:
    kinds = R.templates().kinds
    assert set(kinds) == set(phantom.KINDS) == set(plan.KIND_WEIGHTS)
    for kind, spec in kinds.items():
        wanted = {"positive"} if kind == "devices" else {"positive", "uncertain"}  # devices are never uncertain
        assert set(spec.statuses) == wanted, kind


@pytest.mark.parametrize("kind", phantom.KINDS)
def test_every_option_fills_in_for_every_side_and_severity(kind: str) -> None:
    spec = R.templates().kinds[kind]
    longest = max(len(_options(s.findings)) for s in spec.statuses.values()) + 2
    for status in spec.statuses:
        for side in (-1, 0, 1):
            for severity in phantom.SEVERITIES:
                for index in range(longest):
                    found, impression = R.finding_sentences(kind, side, severity, _where(kind), status,
                                                            {"size_mm": 23, "rib": 2}, ScriptedRng(index))  # type: ignore[arg-type]
                    for text, labels in [*found, impression]:
                        assert "{" not in text and "}" not in text, text
                        assert not text[0].islower() and text.endswith("."), text
                        assert labels and all(lab in ALL_LABELS and st in R.STATUSES for lab, st in labels.items())
                        assert status in labels.values() or kind == "consolidation", (text, labels)


@pytest.mark.parametrize("kind", phantom.KINDS)
def test_each_list_takes_one_draw_findings_first(kind: str) -> None:
    spec = R.templates().kinds[kind]
    for status, chosen in spec.statuses.items():
        rng = ScriptedRng(1)
        found, impression = R.finding_sentences(kind, 1, "moderate", _where(kind), status, {}, rng)  # type: ignore[arg-type]
        slots = (chosen.findings, chosen.impression)
        assert rng.calls == [len(s) for s in slots if isinstance(s, tuple)], (kind, status)
        if isinstance(chosen.impression, tuple):
            expected = R.placeholders(kind, 1, "moderate", _where(kind), {})
            assert impression[0] == chosen.impression[1].text.format(**expected)
        if chosen.findings is None:  # one sentence per device named in ``where``
            assert [t for t, _ in found] == [s.text for s in chosen.findings_each.values()]


def _shipped() -> dict:
    return json.loads(resources.files("cxrviewer.demo").joinpath(R.TEMPLATES).read_text(encoding="utf-8"))


def test_a_sentence_stating_an_unknown_label_is_refused() -> None:
    data = _shipped()
    data["findings"]["effusion"]["positive"]["labels"] = {"Pleural Effusions": "positive"}
    with pytest.raises(ValueError, match="Pleural Effusions"):
        R.parse_templates(data)


def test_a_sentence_with_an_unknown_placeholder_is_refused_with_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _shipped()
    data["findings"]["pneumothorax"]["positive"]["impression"] = "{Wrd} {side} pneumothorax."
    monkeypatch.setattr(R, "templates", lambda: R.parse_templates(data))
    with pytest.raises(ValueError, match=r"\{Wrd\} \{side\} pneumothorax"):
        R.finding_sentences("pneumothorax", 1, "mild", "", "positive", {}, ScriptedRng(0))  # type: ignore[arg-type]


def test_a_status_with_no_sentences_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="devices"):
        R.finding_sentences("devices", 0, "mild", "ett", "uncertain", {}, ScriptedRng(0))  # type: ignore[arg-type]


def test_a_missing_part_is_named() -> None:
    data = _shipped()
    del data["findings"]["edema"]["positive"]["impression"]
    with pytest.raises(ValueError, match=r"malformed.*impression"):
        R.parse_templates(data)
