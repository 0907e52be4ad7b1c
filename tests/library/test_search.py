"""Searching a library: ranking, tie-breaking, filters, search by case, and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Filters, Library, SearchRequest


@pytest.fixture()
def library(demo_library):
    with Library.open(demo_library) as opened:
        yield opened


def _search(library, text="", **kw):
    return library.search(SearchRequest(text=text, k=kw.pop("k", 10), **kw))


def test_hits_are_ranked_by_score_and_top_hits_have_the_finding(library):
    result = _search(library, "Large right pleural effusion.", k=5)
    assert result.query_findings == {"Pleural Effusion": "positive"}
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert result.hits[0].case.findings.get("Pleural Effusion") == "positive"
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]


def test_side_and_size_count_and_ties_break_by_text_then_case_id_never_row_order(library):
    result = _search(library, "Small left pleural effusion.", k=40)
    keys = [(-h.score, -h.overlap, h.case.case_id) for h in result.hits]
    assert keys == sorted(keys)
    sides = [h for h in result.hits if h.case.details.get("Pleural Effusion") is not None
             and h.case.details["Pleural Effusion"].laterality in ("left", "right")
             and {k for k, v in h.case.findings.items() if v == "positive"} == {"Pleural Effusion"}]
    lefts = [h.rank for h in sides if h.case.details["Pleural Effusion"].laterality == "left"]
    rights = [h.rank for h in sides if h.case.details["Pleural Effusion"].laterality == "right"]
    if lefts and rights:  # same findings, the side the query asks for first
        assert max(lefts) < min(rights)


def test_negated_finding_in_the_query_pushes_cases_with_it_down(library):
    plain = _search(library, "Cardiomegaly.", k=48)
    negated = _search(library, "Cardiomegaly. No pleural effusion.", k=48)
    def rank_of_first_with_effusion(result):
        return next(h.rank for h in result.hits if h.case.findings.get("Pleural Effusion") == "positive")
    assert rank_of_first_with_effusion(negated) >= rank_of_first_with_effusion(plain)
    for hit in negated.hits:
        if hit.case.findings.get("Pleural Effusion") == "positive":
            assert hit.score < negated.hits[0].score


def test_filters_are_applied(library):
    filters = Filters(views=("PA",), sex="F", age_min=30, age_max=80, splits=("train",),
                      excluded=("Support Devices",))
    result = _search(library, "Normal chest.", filters=filters, k=48)
    assert result.hits
    for hit in result.hits:
        c = hit.case
        assert c.view == "PA" and c.sex == "F" and 30 <= c.age <= 80 and c.split == "train"
        assert c.findings.get("Support Devices") not in ("positive", "uncertain")
    required = _search(library, "Normal chest.", filters=Filters(required=("Cardiomegaly",)), k=48)
    assert required.hits and all(h.case.findings["Cardiomegaly"] == "positive" for h in required.hits)
    with pytest.raises(ValueError, match="unknown finding"):
        Filters(required=("Dragons",)).sql()


def test_search_by_case_excludes_its_own_study(library):
    some = _search(library, "Cardiomegaly.", k=1).hits[0].case
    result = library.search(SearchRequest(case_id=some.case_id, k=48))
    assert result.hits
    assert all(h.case.study_id != some.study_id for h in result.hits)
    assert result.query_findings == some.findings
    with pytest.raises(LibraryError, match="no case"):
        library.search(SearchRequest(case_id="nope"))


def test_query_without_findings_says_so(library):
    result = _search(library, "the weather is nice")
    assert result.hits == () and "no findings recognised" in result.message


@pytest.mark.parametrize("text", ("Normal exam.", "No evidence of active disease."))
def test_normal_study_impression_ranks_normal_films_above_abnormal_ones(library, text):
    result = _search(library, text, k=library.count)
    assert result.query_findings == {"No Finding": "positive"}
    normal = [h.case.findings.get("No Finding") == "positive" for h in result.hits]
    assert normal[0] and not all(normal)
    assert normal == sorted(normal, reverse=True), "every normal film before every abnormal one"


def test_unknown_route_is_a_clear_error(library):
    with pytest.raises(LibraryError, match="route 'xrayclip' is not available"):
        library.search(SearchRequest(text="effusion", route="xrayclip"))


def test_search_json_contract(demo_library):
    out = subprocess.run([sys.executable, "-m", "cxrviewer", "search", "mild cardiomegaly",
                          "--library", str(demo_library), "--k", "3", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["library"]["synthetic"] is True
    assert len(data["hits"]) == 3
    for hit in data["hits"]:
        assert {"case_id", "score", "findings", "impression"} <= set(hit)


def test_search_with_missing_library_prints_a_message_not_a_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cxrviewer", "search", "effusion",
                          "--library", str(tmp_path / "none")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "no such library folder" in out.stderr and "Traceback" not in out.stderr


def test_library_info_and_list(demo_library):
    info = subprocess.run([sys.executable, "-m", "cxrviewer", "library", "info", str(demo_library),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["counts"]["cases"] == 48 and data["synthetic"] is True
    listed = subprocess.run([sys.executable, "-m", "cxrviewer", "library", "list", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
