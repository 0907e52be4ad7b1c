"""The filters over arrays keep exactly the rows the SQL filter keeps (view, sex, age, split,
required and excluded findings, excluded studies), and both routes use them."""

from __future__ import annotations

import itertools
import sqlite3

import numpy as np
import pytest

from cxrviewer.bench._label_library import write_label_library
from cxrviewer.library.filters import RowFilter
from cxrviewer.library.library import Filters, Library, SearchRequest
from cxrviewer.library.store import Store

FINDINGS = ("Pleural Effusion", "cardiomegaly", "Edema", "No Finding", "Pneumothorax")


def _filters() -> list[Filters]:
    rng = np.random.default_rng(5)
    out = [Filters(views=("pa",)), Filters(sex="female"), Filters(age_min=40), Filters(age_max=30.5),
           Filters(splits=("train",)), Filters(required=("Cardiomegaly",)), Filters(excluded=("Pleural Effusion",)),
           Filters(views=("PA", "LL"), sex="M", age_min=30, age_max=60, required=("Edema", "Pleural Effusion"),
                   excluded=("Pneumothorax",)),
           Filters(views=("LATERAL",)), Filters(exclude_studies=("s0000001", "s0000002")),
           Filters(required=("Pleural Effusion",), excluded=("Pleural Effusion",))]
    for _ in range(40):
        picks = rng.permutation(len(FINDINGS))
        out.append(Filters(views=tuple(rng.choice(["PA", "AP", "LL"], int(rng.integers(0, 3)), replace=False)),
                           sex=str(rng.choice(["", "M", "F"])),
                           age_min=None if rng.random() < 0.5 else float(rng.integers(20, 60)),
                           age_max=None if rng.random() < 0.5 else float(rng.integers(40, 90)),
                           required=tuple(FINDINGS[i] for i in picks[:int(rng.integers(0, 2))]),
                           excluded=tuple(FINDINGS[i] for i in picks[2:2 + int(rng.integers(0, 3))])))
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """3,000 generated cases, some with no age (NULL: kept by no age bound)."""
    folder = write_label_library(tmp_path_factory.mktemp("libraries") / "generated", 3000, texts=True)
    with sqlite3.connect(folder / "library.sqlite") as db:
        db.execute("UPDATE cases SET age = NULL WHERE row % 7 = 0")
    db.close()
    return folder


@pytest.mark.parametrize("which", ["generated", "demo"])
def test_array_filters_keep_the_rows_of_the_sql_filters(which, generated, demo_library):
    folder = generated if which == "generated" else demo_library
    store = Store(folder / "library.sqlite", read_only=True)
    try:
        columns = RowFilter(store)
        kept = set()
        for filters in _filters():
            where, params = filters.sql()
            want = sorted(store.filtered_rows(where, params))
            got = columns.rows(filters)
            assert got is not None and got.tolist() == want, filters
            kept.add(len(want))
        assert len(kept) > 10  # the filters differ, some keep nothing, some many
        assert columns.rows(Filters()) is None
    finally:
        store.close()


def test_both_routes_filter_with_the_arrays(generated):
    with Library.open(generated) as library:
        filters = Filters(views=("PA",), sex="F", age_min=30, required=("Pleural Effusion",))
        hits = library.search(SearchRequest(text="pleural effusion", k=50, filters=filters)).hits
        assert hits and all(h.case.view == "PA" and h.case.sex == "F" and h.case.age >= 30
                            and h.case.findings.get("Pleural Effusion") == "positive" for h in hits)
        for combo in itertools.islice(_filters(), 12):
            where, params = combo.sql()
            assert library.allowed_rows(combo).tolist() == sorted(library.store.filtered_rows(where, params))
