"""Real impression language: normal-study statements and the signs that suggest emphysema."""

from __future__ import annotations

import pytest

from cxrviewer.reports import labels as L
from cxrviewer.reports.labeler import label_text

NORMAL_IMPRESSIONS = (
    "No acute cardiopulmonary process.",
    "No acute pulmonary abnormality.",
    "Negative for acute abnormality.",
    "Normal exam.",
    "Unremarkable examination of the chest.",
    "No evidence of active disease.",
    # common IU variants
    "1. No acute radiographic cardiopulmonary process.",
    "No radiographic evidence of acute cardiopulmonary disease.",
    "There is no evidence of acute cardiopulmonary disease.",
    "No acute intrathoracic abnormality.",
    "No acute preoperative findings.",
    "Negative for acute cardiopulmonary findings.",
    "No active or acute cardiopulmonary disease.",
    "No acute thoracic XXXX.",
    "Limited quality exam shows no definite acute findings.",
    "1. Limited chest radiograph examination without demonstration of an acute intrathoracic abnormality.",
    "No finding suggestive of active disease.",
    "Unremarkable radiographs of the chest.",
    "Unremarkable 2 views of the chest.",
    "Negative preoperative chest x-XXXX.",
    "Negative.",
)


@pytest.mark.parametrize("text", NORMAL_IMPRESSIONS)
def test_normal_study_statements_are_evidence_for_no_finding(text: str) -> None:
    r = label_text(text)
    assert r.status_of(L.NO_FINDING) == "positive" and r.is_normal()
    assert r.normal_spans, "the statement itself is the evidence"
    (finding,) = r.findings
    assert finding.spans == r.normal_spans
    assert r.about_chest


def test_normal_statement_spans_cover_the_statement() -> None:
    text = "Low lung volumes. No acute radiographic cardiopulmonary process."
    r = label_text(text)
    assert [text[a:b] for a, b in r.normal_spans] == ["No acute radiographic cardiopulmonary process"]
    assert r.other_abnormal and not r.is_normal()  # low volumes still make it abnormal


@pytest.mark.parametrize("text", (
    "Heart size is now normal.",  # a predicate of the heart, not of the study
    "No acute, displaced rib fractures.",  # "acute" qualifies the fractures
    "No findings of pleural effusion.",  # the complement is a finding, not "disease"
    "No findings to suggest pneumonia.",
    "Clear, hyperaerated lungs.",
    "No interval change.",
))
def test_statements_about_something_else_are_not_normal_statements(text: str) -> None:
    assert label_text(text).normal_spans == ()


def test_normal_statements_change_no_finding_status() -> None:
    r = label_text("No acute cardiopulmonary abnormality except small left pleural effusion.")
    assert r.status_of(L.PLEURAL_EFFUSION) == "positive"
    assert r.status_of(L.NO_FINDING) == "not_mentioned"
    r = label_text("No acute pulmonary abnormality or effusion.")
    assert r.status_of(L.PLEURAL_EFFUSION) == "negative"


@pytest.mark.parametrize("text", (
    "Findings of chronic obstructive pulmonary disease.",
    "Hyperexpanded lungs.",
    "Hyperinflated lungs, air trapping versus inspiratory XXXX.",
    "COPD.",
    "Probable COPD and old granulomatous disease.",
    "1. Severe hyperinflation.",
))
def test_copd_and_hyperinflation_suggest_emphysema(text: str) -> None:
    r = label_text(text)
    f = r.finding(L.EMPHYSEMA)
    assert f is not None and f.status == "uncertain"
    # only ever "possible" (the Open-i gold codes COPD as emphysema 1 time in 25), so the
    # evaluation does not count it as present, whatever the hedge ("probable", "versus")
    assert f.certainty == "possible" and not r.likely_present(L.EMPHYSEMA)
    assert r.other_abnormal and not r.is_normal()
    assert r.status_of(L.NO_FINDING) == "not_mentioned"


def test_emphysema_itself_stays_positive_and_a_denied_sign_is_negative() -> None:
    r = label_text("Hyperinflated lungs with emphysema.")
    assert r.status_of(L.EMPHYSEMA) == "positive" and r.likely_present(L.EMPHYSEMA)
    r = label_text("The lungs are not hyperinflated.")
    assert r.status_of(L.EMPHYSEMA) == "negative" and not r.other_abnormal


def test_abnormalities_outside_the_label_set_that_real_impressions_name() -> None:
    for text in ("Large pericardial effusion.", "Moderate congestive cardiac failure.",
                 "Findings consistent with mild congestive heart failure."):
        r = label_text(text)
        assert r.other_abnormal and not r.is_normal(), text
        assert r.status_of(L.PLEURAL_EFFUSION) == "not_mentioned", text
    r = label_text("No evidence of active tuberculosis.")
    assert not r.other_abnormal and r.about_chest


def test_text_about_something_else_is_not_about_the_chest() -> None:
    r = label_text("The weather is nice.")
    assert r.status_of(L.NO_FINDING) == "positive"  # CheXpert's rule, unchanged
    assert not r.about_chest and not r.normal_spans
    assert label_text("Stable appearance of the chest.").about_chest
