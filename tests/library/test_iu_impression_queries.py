"""Every real IU dev impression with a gold label is understood as a findings-route query."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.library.label_route import query_from_text
from cxrviewer.reports.evaluate import read_csv


@pytest.fixture(scope="module")
def dev_impressions(shared_data: Path) -> list[tuple[str, frozenset[str]]]:
    """(impression, gold set) of every dev report with an impression; the gold set holds the
    gold columns that are 1 (``normal`` included)."""
    folder = shared_data / "reports" / "iu"
    reports = {r["uid"].strip(): r for r in read_csv(folder / "indiana_reports.csv", ("uid", "impression"), "reports")}
    out = []
    for g in read_csv(folder / "gold_labels_dev.csv", ("filename",), "gold"):
        row = reports.get(g["filename"].strip()[3:])
        impression = (row or {}).get("impression", "").strip()
        if impression:
            out.append((impression, frozenset(c for c, v in g.items() if c != "filename" and v.strip() == "1")))
    return out


@pytest.mark.needs_shared
def test_no_dev_impression_with_a_gold_label_gives_an_empty_query(dev_impressions) -> None:
    labelled = [(text, gold) for text, gold in dev_impressions if gold]
    assert len(labelled) > 1800
    empty = sorted({text for text, _ in labelled if query_from_text(text).is_empty})
    assert empty == [], f"{len(empty)} impressions give an empty query, e.g. {empty[:5]}"


@pytest.mark.needs_shared
def test_normal_dev_impressions_ask_for_normal_films(dev_impressions) -> None:
    """Gold-normal impressions ask for No Finding (and deny anything else they name); the rest
    only deny findings ("No pleural effusion or pneumothorax"), which ranks normal films first
    too. Before normal-study statements were understood, 78 % did."""
    normal = [text for text, gold in dev_impressions if gold == {"normal"}]
    asked = sum(1 for text in normal
                if (s := query_from_text(text).statuses).get("No Finding") == "positive"
                and all(v == "negative" for k, v in s.items() if k != "No Finding"))
    assert len(normal) > 1000
    assert asked / len(normal) >= 0.95
