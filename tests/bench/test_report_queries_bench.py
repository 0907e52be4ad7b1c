"""``python -m cxrviewer.bench report_queries``: runs, and its numbers mean what they say."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.bench import report_queries as RQ

GOLD_COLUMNS = ("Cardiomegaly", "Effusion", "Emphysema", "normal")
# uid -> (findings, impression, gold columns that are 1)
REPORTS = {
    "1": ("Heart size normal. Lungs are clear.", "Normal exam.", {"normal"}),
    "2": ("The lungs are clear. No effusion.", "No acute cardiopulmonary process.", {"normal"}),
    "3": ("Heart and lungs are normal.", "No evidence of active disease.", {"normal"}),
    "4": ("Large right pleural effusion.", "Right pleural effusion.", {"Effusion"}),
    "5": ("Small left pleural effusion.", "Left effusion.", {"Effusion"}),
    "6": ("Bilateral pleural effusions.", "Bilateral effusions.", {"Effusion"}),
    "7": ("Emphysema. Hyperinflated lungs.", "Emphysema.", {"Emphysema"}),
    "8": ("Flattened hemidiaphragms and emphysema.", "Findings of chronic obstructive pulmonary disease.",
          {"Emphysema"}),
    "9": ("Hyperexpanded lungs.", "Emphysematous changes.", {"Emphysema"}),
}


def _write(folder: Path) -> tuple[Path, Path]:
    reports, gold = folder / "reports.csv", folder / "gold.csv"
    with reports.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["uid", "MeSH", "findings", "impression"])
        w.writerows([uid, "", f, i] for uid, (f, i, _) in REPORTS.items())
    with gold.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", *GOLD_COLUMNS])
        w.writerows([f"CXR{uid}", *(int(c in g) for c in GOLD_COLUMNS)] for uid, (_, _, g) in REPORTS.items())
    return reports, gold


def test_small_corpus_scores_both_routes(tmp_path: Path) -> None:
    result = RQ.run(*_write(tmp_path), k=2)
    assert result["queries"] == len(REPORTS) and result["corpus"] == len(REPORTS) - 1
    assert result["empty_queries"] == 0
    for rule in RQ.RULES:
        scores = result["precision_at_k"][rule]
        assert scores["queries"] == len(REPORTS)
        # each query has exactly two other reports with its gold set, and the findings route
        # (normal films for "Normal exam", emphysema for "findings of COPD") puts them on top
        assert scores["findings_route"] == 1.0
        assert 0.0 <= scores["tfidf"] <= 1.0


def test_tfidf_is_a_cosine_and_leaves_the_query_report_out() -> None:
    docs = ["left pleural effusion", "right pleural effusion", "normal chest", "XXXX normal heart"]
    model = RQ.TfIdf(docs)
    assert np.allclose(np.linalg.norm(model.matrix, axis=1), 1.0)
    scores = model.scores("normal chest")
    assert scores[2] == pytest.approx(1.0) and scores.argmax() == 2 and scores[0] == 0.0
    assert "xxxx" not in model.vocabulary
    reports = [RQ.DevReport(str(n), d, d, frozenset(), {}) for n, d in enumerate(docs)]
    (top,) = RQ.tfidf_rankings(reports, reports[2:3], k=3)
    assert top[0] == "3" and "2" not in top


@pytest.mark.needs_shared
def test_iu_dev_run_with_a_limit(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    iu = shared_data / "reports" / "iu"
    assert RQ.main(["--reports", str(iu / "indiana_reports.csv"), "--gold", str(iu / "gold_labels_dev.csv"),
                    "--limit", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queries"] == 40 and out["corpus"] > 3000 and out["k"] == 5
    assert out["empty_queries_with_gold_label"] == 0
    for rule in RQ.RULES:
        scores = out["precision_at_k"][rule]
        assert 10 < scores["queries"] <= 40
        assert 0.0 < scores["findings_route"] <= 1.0 and 0.0 < scores["tfidf"] <= 1.0


def test_missing_file_is_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert RQ.main(["--reports", str(tmp_path / "nope.csv"), "--gold", str(tmp_path / "gold.csv")]) == 2
    assert "cannot read reports file" in capsys.readouterr().err
