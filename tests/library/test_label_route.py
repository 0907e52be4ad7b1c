"""The label route's similarity: rewards, penalties, uncertainty and tie-breakers."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.library import label_route as LR
from cxrviewer.library.store import FindingDetail, pattern_of


def _scores(query_text: str, cases: list[dict[str, str]]) -> np.ndarray:
    return LR.pattern_scores(LR.query_from_text(query_text), [pattern_of(c) for c in cases])


def test_shared_positive_scores_one_and_extra_findings_cost():
    s = _scores("Cardiomegaly.", [
        {"Cardiomegaly": "positive"},
        {"Cardiomegaly": "positive", "Pleural Effusion": "positive", "Edema": "positive"},
        {"Cardiomegaly": "uncertain"},
        {"Cardiomegaly": "negative"},
        {"No Finding": "positive"},
    ])
    # 1.0; 1.0 - 2 * 0.2; 0.5; -0.5; 0 (No Finding is not an extra finding)
    assert np.allclose(s, [1.0, 0.6, 0.5, -0.5, 0.0])


def test_negated_query_findings_penalise_cases_that_have_them():
    s = _scores("Cardiomegaly. No pleural effusion.", [
        {"Cardiomegaly": "positive"},
        {"Cardiomegaly": "positive", "Pleural Effusion": "positive"},
        {"Cardiomegaly": "positive", "Pleural Effusion": "negative"},
    ])
    # best = 1 (effusion is negated, so it adds nothing to the best score)
    assert np.allclose(s, [1.0, 0.0, 1.0])


def test_uncertain_query_half_weights():
    q = LR.query_from_text("Possible pneumonia. Small left effusion.")
    assert q.statuses == {"Pneumonia": "uncertain", "Pleural Effusion": "positive"}
    s = LR.pattern_scores(q, [pattern_of({"Pneumonia": "positive", "Pleural Effusion": "positive"}),
                              pattern_of({"Pleural Effusion": "positive"})])
    # best = 1 (effusion) + 0.5 (possible pneumonia) + 2 x 0.25 (small, left) = 2.0; the
    # details are scored per case, not per pattern: 1.5 / 2 and 1 / 2.
    assert np.allclose(s, [0.75, 0.5])


def test_normal_query_prefers_normal_films():
    s = _scores("Normal chest radiograph.", [{"No Finding": "positive"}, {"Edema": "positive"}])
    assert s[0] > s[1]


def test_detail_agreement_rewards_matching_side_and_size():
    q = LR.query_from_text("small left pleural effusion")
    assert q.details["Pleural Effusion"] == FindingDetail("mild", "left")
    same = LR.detail_agreement(q, {"Pleural Effusion": FindingDetail("mild", "left")})
    other_side = LR.detail_agreement(q, {"Pleural Effusion": FindingDetail("mild", "right")})
    silent = LR.detail_agreement(q, {})
    # best = 1 + 2 x 0.25 = 1.5: both agree +0.5 -> 1/3; size agrees, side contradicts -> 0.
    assert same == pytest.approx(1 / 3) and other_side == 0.0 and silent == 0.0
    findings = LR.pattern_scores(q, [pattern_of({"Pleural Effusion": "positive"})])[0]
    assert findings + same == pytest.approx(1.0), "a perfect match scores 1"


def test_wrong_side_ranks_below_right_side_with_an_extra_finding():
    q = LR.query_from_text("small left pleural effusion")
    wrong_side = (LR.pattern_scores(q, [pattern_of({"Pleural Effusion": "positive"})])[0]
                  + LR.detail_agreement(q, {"Pleural Effusion": FindingDetail("mild", "right")}))
    right_side_plus = (LR.pattern_scores(q, [pattern_of({"Pleural Effusion": "positive", "Edema": "positive"})])[0]
                       + LR.detail_agreement(q, {"Pleural Effusion": FindingDetail("mild", "left")}))
    assert right_side_plus > wrong_side


def test_text_overlap_ignores_stopwords():
    w = LR.words("No acute disease. Mild cardiomegaly.")
    assert "no" not in w and {"mild", "cardiomegaly"} <= w
    assert LR.text_overlap(w, "mild cardiomegaly") > LR.text_overlap(w, "severe cardiomegaly")


NORMAL_STUDY_QUERIES = ("No acute cardiopulmonary process", "No acute pulmonary abnormality",
                        "Negative for acute abnormality", "Normal exam",
                        "Unremarkable examination of the chest", "No evidence of active disease",
                        "1. No acute radiographic cardiopulmonary process.",
                        "Negative for acute cardiopulmonary findings.")


@pytest.mark.parametrize("text", NORMAL_STUDY_QUERIES)
def test_normal_study_impressions_ask_for_normal_films(text: str):
    q = LR.query_from_text(text)
    assert q.statuses == {"No Finding": "positive"}
    s = LR.pattern_scores(q, [pattern_of({"No Finding": "positive", "Pleural Effusion": "negative"}),
                              pattern_of({"Edema": "positive"}),
                              pattern_of({"Cardiomegaly": "positive", "Atelectasis": "positive"})])
    assert s[0] == pytest.approx(1.0) and s[0] > s[1] > s[2]


@pytest.mark.parametrize("text", ("findings of chronic obstructive pulmonary disease",
                                  "hyperexpanded lungs", "Hyperinflated lungs.", "COPD"))
def test_copd_and_hyperinflation_search_for_emphysema(text: str):
    q = LR.query_from_text(text)
    assert q.statuses == {"Emphysema": "uncertain"}
    s = LR.pattern_scores(q, [pattern_of({"Emphysema": "positive"}),
                              pattern_of({"Emphysema": "uncertain"}),  # a case that says "COPD"
                              pattern_of({"No Finding": "positive"}),
                              pattern_of({"Edema": "positive"})])
    assert s[0] == s[1] == pytest.approx(1.0) and s[1] > s[2] > s[3]


def test_no_finding_only_where_the_query_means_it():
    # names only an abnormality outside the label set: CheXpert's No Finding, and the text
    # tie-break prefers films that mention it
    assert LR.query_from_text("Thoracolumbar scoliosis.").statuses == {"No Finding": "positive"}
    assert LR.query_from_text("No evidence of active tuberculosis.").statuses == {"No Finding": "positive"}
    # a query that only denies a finding keeps to what it names
    assert LR.query_from_text("No pneumothorax.").statuses == {"Pneumothorax": "negative"}
    assert LR.query_from_text("the weather is nice").is_empty
