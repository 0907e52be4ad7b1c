"""Quiz verdicts on known answers, the differential strip, and ``cxrviewer quiz score``."""

from __future__ import annotations

import json

import pytest
from teaching_helpers import effusion_case, library_case

from cxrviewer.cli import run
from cxrviewer.teaching.films import findings_from_report
from cxrviewer.teaching.model import KnownFinding
from cxrviewer.teaching.quiz import report_segments, score_answer

LARGE_RIGHT_EFFUSION = ("FINDINGS: Large right pleural effusion. Heart size is normal.\n"
                        "IMPRESSION: Large right effusion.")


def test_small_left_effusion_against_a_large_right_one():
    truth = findings_from_report(LARGE_RIGHT_EFFUSION)
    verdict = score_answer("small left effusion", truth, LARGE_RIGHT_EFFUSION)
    effusion = verdict.outcome("Pleural Effusion")
    assert effusion.outcome == "found"
    assert (effusion.side, effusion.expected_side, effusion.answered_side) == ("wrong", "right", "left")
    assert (effusion.severity, effusion.expected_severity, effusion.answered_severity) == ("wrong", "severe", "mild")
    assert verdict.labels("missed") == [] and verdict.labels("overcalled") == []
    assert verdict.score == pytest.approx(0.6)
    # the evidence spans point at the effusion in the report (what the reveal highlights)
    assert [LARGE_RIGHT_EFFUSION[a:b].lower() for a, b in verdict.evidence["Pleural Effusion"]] == \
        ["pleural effusion", "effusion"]
    pieces = report_segments(LARGE_RIGHT_EFFUSION, verdict.evidence)
    assert "".join(text for text, _ in pieces) == LARGE_RIGHT_EFFUSION
    assert [text for text, label in pieces if label] == ["pleural effusion", "effusion"]
    right = score_answer("large right pleural effusion", truth)
    assert right.outcome("Pleural Effusion").side == "right" and right.score == pytest.approx(1.0)
    unstated = score_answer("pleural effusion", truth).outcome("Pleural Effusion")
    assert (unstated.side, unstated.severity) == ("not_stated", "not_stated")


def test_missed_and_overcalled_findings_lower_the_score():
    truth = (KnownFinding("Pneumothorax", "positive", "moderate", "right"),
             KnownFinding("Cardiomegaly", "positive"), KnownFinding("Edema", "negative"))
    verdict = score_answer("moderate right pneumothorax with pulmonary edema", truth)
    assert verdict.labels("found") == ["Pneumothorax"]
    assert verdict.labels("missed") == ["Cardiomegaly"]
    assert verdict.labels("overcalled") == ["Edema"]  # the case denies it
    assert verdict.score == pytest.approx(1.0 / 3.0)
    hedged = score_answer("moderate right pneumothorax, possible edema", truth)
    assert hedged.outcome("Edema").hedged and hedged.score == pytest.approx(1.0 / 2.5)


def test_normal_answers_and_normal_cases():
    normal = (KnownFinding("No Finding", "positive"), KnownFinding("Pneumothorax", "negative"))
    assert score_answer("normal chest", normal).score == 1.0
    assert score_answer("No acute cardiopulmonary process.", normal).answer_normal
    wrong = score_answer("right pneumothorax", normal)
    assert wrong.labels("overcalled") == ["Pneumothorax"] and wrong.score == 0.0
    missed = score_answer("normal", (KnownFinding("Cardiomegaly", "positive"),))
    assert missed.answer_normal and missed.labels("missed") == ["Cardiomegaly"] and missed.score == 0.0
    nonsense = score_answer("the weather is nice", normal)
    assert not nonsense.understood and nonsense.score == 0.0 and nonsense.message


def test_roll_ups_and_possible_findings():
    truth = (KnownFinding("Nodule", "positive", laterality="right"), KnownFinding("Lung Lesion", "positive"),
             KnownFinding("Pleural Effusion", "uncertain", certainty="possible"))
    verdict = score_answer("right lung nodule", truth)
    assert verdict.labels("found") == ["Lung Lesion", "Nodule"]
    assert verdict.labels("missed") == []  # the possible effusion need not be named
    assert verdict.score == pytest.approx(1.0)
    named = score_answer("right nodule and a small effusion", truth)
    assert "Pleural Effusion" in named.labels("found") and named.labels("overcalled") == []
    alone = score_answer("nodule", (KnownFinding("Nodule", "positive"),))
    assert alone.labels("overcalled") == []  # its Lung Lesion roll-up is not an overcall


def test_quiz_score_command_on_a_library_case(library, demo_library, capsys):
    row = effusion_case(library)
    detail = row.details["Pleural Effusion"]
    side = "left" if detail.laterality == "right" else "right"
    size = "small" if detail.severity != "mild" else "large"
    answer = f"{size} {side} effusion"
    assert run(["quiz", "score", "--library", str(demo_library), "--case", row.case_id, answer, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    effusion = next(f for f in out["findings"] if f["label"] == "Pleural Effusion")
    assert effusion["outcome"] == "found" and effusion["side"] == "wrong" and effusion["severity"] == "wrong"
    assert out["case_id"] == row.case_id and 0.0 <= out["score"] < 1.0
    own = frozenset(k for k, v in row.findings.items() if v == "positive")
    assert out["differential"], "no differential films"
    for film in out["differential"]:
        assert film["case_id"] != row.case_id and frozenset(film["findings"]) != own
        assert set(film["findings"]) == {k for k, v in library.case(film["case_id"]).findings.items()
                                         if v == "positive"} or film["findings"] == ["No Finding"]
    assert run(["quiz", "score", "--library", str(demo_library), "--case", row.case_id, answer]) == 0
    assert "side wrong, severity wrong" in capsys.readouterr().out


def test_differential_puts_films_of_the_students_words_first(library):
    from cxrviewer.teaching.differential import differential
    from cxrviewer.teaching.films import library_findings, report_text

    row = library_case(library, lambda r: r.findings.get("Pneumothorax") == "positive")
    report = report_text(row.report)
    truth = library_findings(row, report)
    verdict = score_answer("pneumothorax and cardiomegaly", truth, report)
    films = differential(library, truth, report, 4, row.case_id, verdict)
    assert films and films[0].shows_answer == ("Cardiomegaly",)
    assert "Cardiomegaly" in films[0].findings


def test_quiz_score_refuses_unknown_cases(demo_library, capsys):
    assert run(["quiz", "score", "--library", str(demo_library), "--case", "NOPE", "effusion"]) == 1
    assert "no case 'NOPE'" in capsys.readouterr().err
