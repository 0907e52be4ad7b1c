"""The findings route over arrays ranks exactly as the case-by-case reference: the same cases, in
the same order, with the same scores, details, overlaps and candidate counts, on the demo library
and on a large generated one with report text and details."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.library import label_route as LR
from cxrviewer.library.label_index import rank_reference
from cxrviewer.library.library import Filters, Library, SearchRequest

QUERIES = (
    "large left pleural effusion", "small right effusion", "mild cardiomegaly, small left effusion",
    "no pneumothorax", "No acute cardiopulmonary process.", "normal chest", "edema", "moderate pulmonary edema",
    "possible left basilar atelectasis", "no effusion, stable cardiomegaly", "right lower lobe consolidation",
    "tube tip projects over the stomach; low lung volumes", "bilateral pleural effusions, left greater than right",
    "pneumonia versus atelectasis", "severe cardiomegaly with large bilateral effusions and edema",
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from cxrviewer.bench._label_library import write_label_library

    return write_label_library(tmp_path_factory.mktemp("gen") / "lib", 20_000, seed=3, texts=True)


def _same(library: Library, text: str, k: int, filters: Filters = Filters()) -> None:
    query = LR.query_from_text(text)
    if query.is_empty:
        return
    where, params = filters.sql()
    expected = rank_reference(library, query, where, params, k)
    result = library.search(SearchRequest(text=text, k=k, filters=filters))
    got = [(h.score, h.agreement, h.overlap, h.case.case_id, h.case.row) for h in result.hits]
    assert got == expected, text


@pytest.mark.parametrize("k", [1, 10, 100, 1000])
def test_the_generated_library_ranks_as_the_reference(generated: Path, k: int):
    with Library.open(generated) as library:
        for text in QUERIES:
            _same(library, text, k)


def test_filters_and_candidate_counts(generated: Path):
    with Library.open(generated) as library:
        for filters in (Filters(views=("PA",)), Filters(sex="F", age_min=40, age_max=60)):
            for text in QUERIES[:6]:
                _same(library, text, 50, filters)
        query = LR.query_from_text("large left pleural effusion")
        result = library.search(SearchRequest(text="large left pleural effusion", k=10))
        assert result.candidates > 5000  # a common finding: thousands of candidates scored at once
        assert result.candidates == sum(1 for _ in _reference_candidates(library, query, 10))


def _reference_candidates(library: Library, query: LR.LabelQuery, k: int):
    import numpy as np

    patterns = [p for p, _ in library.store.patterns()]
    scores = np.round(LR.pattern_scores(query, patterns), 9)
    found, enough_at = 0, None
    for value in np.unique(scores)[::-1]:
        if enough_at is not None and value < enough_at - 2 * query.max_detail_swing - 1e-9:
            break
        rows = library.store.rows_with_patterns([patterns[i] for i in np.flatnonzero(scores == value)])
        yield from rows
        found += len(rows)
        if found >= k and enough_at is None:
            enough_at = float(value)


def test_the_demo_library_ranks_as_the_reference(demo_library: Path):
    with Library.open(demo_library) as library:
        for text in QUERIES:
            for k in (5, 48):
                _same(library, text, k)
