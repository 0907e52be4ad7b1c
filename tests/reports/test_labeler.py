"""Negation, uncertainty, lists, scope, normal phrasings and CheXpert's examples."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cxrviewer.reports import labels as L
from cxrviewer.reports.labeler import LabelResult, label_text


def statuses(text: str) -> dict[str, str]:
    return {f.label: f.status for f in label_text(text).findings}


def test_scope_ends_at_but() -> None:
    r = label_text("No effusion, but small left pneumothorax.")
    assert r.status_of(L.PLEURAL_EFFUSION) == "negative"
    ptx = r.finding(L.PNEUMOTHORAX)
    assert ptx is not None and ptx.status == "positive"
    assert (ptx.severity, ptx.laterality) == ("mild", "left")


def test_negated_list() -> None:
    s = statuses("No effusion, pneumothorax, or consolidation.")
    assert s[L.PLEURAL_EFFUSION] == s[L.PNEUMOTHORAX] == s[L.CONSOLIDATION] == "negative"


def test_negated_list_with_adjectives_and_hedged_items() -> None:
    s = statuses("No focal consolidation, suspicious pulmonary opacity, large pleural effusion, "
                 "or pneumothorax is identified.")
    assert s[L.CONSOLIDATION] == s[L.LUNG_OPACITY] == s[L.PLEURAL_EFFUSION] == s[L.PNEUMOTHORAX] == "negative"


@pytest.mark.parametrize("text", [
    "Pneumothorax cannot be excluded.",
    "Possible pneumothorax.",
    "Findings may represent pneumothorax.",
    "Cannot exclude a small pneumothorax.",
    "Questionable apical pneumothorax.",
])
def test_hedges_are_uncertain(text: str) -> None:
    assert label_text(text).status_of(L.PNEUMOTHORAX) == "uncertain"


@pytest.mark.parametrize("text", [
    "Pneumothorax is not seen.",
    "There is no evidence of pneumothorax.",
    "Negative for pneumothorax.",
    "The previously seen pneumothorax has resolved.",
    "No definite pneumothorax.",
    "There is no pleural line to suggest pneumothorax.",
])
def test_negations_before_and_after(text: str) -> None:
    assert label_text(text).status_of(L.PNEUMOTHORAX) == "negative"


def test_versus_makes_both_sides_probable() -> None:
    r = label_text("Left basilar opacity, atelectasis versus pneumonia.")
    for label in (L.ATELECTASIS, L.PNEUMONIA):
        f = r.finding(label)
        assert f is not None and f.status == "uncertain" and f.certainty == "probable"
    assert r.likely_present(L.ATELECTASIS)
    possible = label_text("This may represent pneumonia.").finding(L.PNEUMONIA)
    assert possible is not None and possible.certainty == "possible" and not possible.likely_present


def test_normal_phrasings() -> None:
    r = label_text("Heart size normal. The lungs are clear. Mediastinal contours are within normal limits.")
    assert r.status_of(L.CARDIOMEGALY) == "negative"
    assert r.status_of(L.ENLARGED_CARDIOMEDIASTINUM) == "negative"
    assert r.status_of(L.NO_FINDING) == "positive"
    assert r.is_normal()
    assert label_text("The heart is not enlarged.").status_of(L.CARDIOMEGALY) == "negative"
    assert label_text("Heart size is upper limits of normal.").status_of(L.CARDIOMEGALY) == "negative"
    assert label_text("The cardiac silhouette is mildly enlarged.").status_of(L.CARDIOMEGALY) == "positive"
    assert label_text("Borderline cardiomegaly.").status_of(L.CARDIOMEGALY) == "uncertain"


def test_no_finding_rule_and_stricter_openi_normal() -> None:
    r = label_text("No acute cardiopulmonary abnormality. Calcified granuloma. Mild scoliosis.")
    assert r.status_of(L.NO_FINDING) == "positive"  # CheXpert: only its pathologies count
    assert not r.is_normal()  # Open-i: any abnormality makes a study abnormal
    r = label_text("Stable cardiomegaly. Left chest pacemaker.")
    assert r.status_of(L.NO_FINDING) == "not_mentioned"
    assert r.status_of(L.SUPPORT_DEVICES) == "positive"


def test_deidentification_tokens_are_neutral() -> None:
    r = label_text("There are no XXXX of a pleural effusion. XXXX XXXX opacity in the left base.")
    assert r.status_of(L.PLEURAL_EFFUSION) == "negative"
    assert r.status_of(L.LUNG_OPACITY) == "positive"


def test_spans_index_the_original_text_and_skip_indication() -> None:
    text = "INDICATION: rule out pneumonia.\nFINDINGS: Right lower lobe opacities. No effusions."
    r = label_text(text)
    assert r.status_of(L.PNEUMONIA) == "not_mentioned"
    opacity = r.finding(L.LUNG_OPACITY)
    assert opacity is not None and [text[a:b] for a, b in opacity.spans] == ["opacities"]
    assert opacity.laterality == "right"
    effusion = r.finding(L.PLEURAL_EFFUSION)
    assert effusion is not None and [text[a:b] for a, b in effusion.spans] == ["effusions"]


def test_rollups_nodule_is_lung_lesion() -> None:
    r = label_text("9 mm right upper lobe nodule.")
    assert r.status_of(L.NODULE) == r.status_of(L.LUNG_LESION) == "positive"


def test_not_mentioned_and_chexpert_dict_shape() -> None:
    r = label_text("Stable appearance.")
    d = r.to_chexpert_dict()
    assert list(d) == list(L.CHEXPERT_LABELS)
    assert d[L.NO_FINDING] == 1.0 and d[L.PNEUMOTHORAX] is None
    assert r.status_of(L.PNEUMOTHORAX) == "not_mentioned"


def _chexpert_examples(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "reports" / "chexpert_examples" / "labeled_reports.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_chexpert_examples_exactly(shared_data: Path) -> None:
    rows = _chexpert_examples(shared_data)
    assert len(rows) == 4
    for row in rows:
        expected = {k: (float(v) if v.strip() else None) for k, v in row.items() if k != "Reports"}
        assert label_text(row["Reports"]).to_chexpert_dict() == expected, row["Reports"]


def test_empty_result_type() -> None:
    assert label_text("") == LabelResult()
    assert label_text("").to_chexpert_dict()[L.NO_FINDING] is None


def test_anatomy_with_shared_and_mixed_predicates() -> None:
    r = label_text("Heart size, mediastinal contour, and pulmonary vascularity are within normal limits.")
    assert r.status_of(L.CARDIOMEGALY) == r.status_of(L.ENLARGED_CARDIOMEDIASTINUM) == "negative"
    r = label_text("Normal heart size, widened mediastinum.")
    assert r.status_of(L.CARDIOMEGALY) == "negative"
    assert r.status_of(L.ENLARGED_CARDIOMEDIASTINUM) == "positive"
    text = "Heart size is upper limits normal or mildly enlarged."
    f = label_text(text).finding(L.CARDIOMEGALY)
    assert f is not None and (f.status, f.certainty) == ("uncertain", "probable")
    assert text[f.spans[0][0]:f.spans[0][1]].endswith("mildly enlarged")
    assert label_text("No pneumothorax, heart is enlarged.").status_of(L.CARDIOMEGALY) == "positive"


@pytest.mark.parametrize(("text", "certainty"), [
    ("This may be due to atelectasis.", "possible"),
    ("Question of left basilar atelectasis.", "possible"),
    ("Opacities most suggestive of atelectasis.", "probable"),
    ("Probable left basilar atelectasis.", "probable"),
])
def test_hedge_strength(text: str, certainty: str) -> None:
    f = label_text(text).finding(L.ATELECTASIS)
    assert f is not None and f.status == "uncertain" and f.certainty == certainty


def test_pseudo_negations_and_blocked_phrases() -> None:
    assert label_text("No change in mild right basilar atelectasis.").status_of(L.ATELECTASIS) == "positive"
    assert label_text("9 mm nodule that is not calcified.").status_of(L.NODULE) == "positive"
    assert label_text("Small pericardial effusion.").status_of(L.PLEURAL_EFFUSION) == "not_mentioned"
    assert label_text("Kerley B lines.").status_of(L.SUPPORT_DEVICES) == "not_mentioned"
    assert label_text("Changes of cystic fibrosis.").status_of(L.FIBROSIS) == "not_mentioned"
    assert label_text("Negative acute cardiopulmonary abnormality.").is_normal()


def test_severity_and_laterality_stay_with_their_mention() -> None:
    r = label_text("Stable mild cardiomegaly without edema. Moderate bilateral pleural effusions.")
    assert r.finding(L.CARDIOMEGALY).severity == "mild"  # type: ignore[union-attr]
    assert r.finding(L.EDEMA).severity is None  # type: ignore[union-attr]
    effusion = r.finding(L.PLEURAL_EFFUSION)
    assert effusion is not None and (effusion.severity, effusion.laterality) == ("moderate", "bilateral")
