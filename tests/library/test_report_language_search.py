"""Real impressions as queries against a small library of real-style reports, stored the way a
library build stores them and ranked by ``Library.search`` (the findings route)."""

from __future__ import annotations

import pytest

from cxrviewer.bench.report_queries import DevReport, build_library
from cxrviewer.library.library import SearchRequest

REPORTS = {
    "n1": "The heart is normal in size. The lungs are clear. No acute cardiopulmonary abnormality.",
    "n2": "Heart size and mediastinal contours are normal. Lungs are clear. Normal chest.",
    "e1": "Emphysema. No focal consolidation. Heart size is normal.",
    "c1": "The lungs are hyperexpanded, compatible with COPD. No pneumothorax or effusion.",
    "x1": "Moderate cardiomegaly with small bilateral pleural effusions and pulmonary edema.",
    "a1": "Left basilar atelectasis. Heart size is mildly enlarged.",
}
NORMAL, EMPHYSEMA_LIKE = {"n1", "n2"}, {"e1", "c1"}


@pytest.fixture()
def library(tmp_path):
    reports = [DevReport(uid, "", text, frozenset(), {"uid": uid, "findings": text})
               for uid, text in REPORTS.items()]
    opened = build_library(reports, tmp_path)
    yield opened
    opened.close()


def _ranked(library, text: str) -> list[str]:
    return [h.case.study_id for h in library.search(SearchRequest(text=text, k=len(REPORTS))).hits]


@pytest.mark.parametrize("text", ("No acute cardiopulmonary process", "No acute pulmonary abnormality",
                                  "Negative for acute abnormality", "Normal exam",
                                  "Unremarkable examination of the chest", "No evidence of active disease"))
def test_normal_study_query_ranks_normal_reports_first(library, text: str):
    ranked = _ranked(library, text)
    assert set(ranked[:2]) == NORMAL, ranked


@pytest.mark.parametrize("text", ("findings of chronic obstructive pulmonary disease", "hyperexpanded lungs"))
def test_copd_query_ranks_emphysema_and_copd_reports_first(library, text: str):
    ranked = _ranked(library, text)
    assert set(ranked[:2]) == EMPHYSEMA_LIKE, ranked
