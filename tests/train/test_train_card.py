"""Training on a labelled library: the model's card (its domain and per-finding validation), the
CPU estimate before a run, and --yes for long CPU runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.cli import run

TINY = ["--image-encoder", "resnet10t", "--timm-kwargs", json.dumps({"channels": [8, 16, 16, 32], "stem_width": 8}),
        "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--embed-dim", "16", "--device", "cpu",
        "--no-augment"]


def test_a_trained_classifier_is_registered_with_a_card_of_its_validation(demo_library: Path, capsys):
    from cxrviewer.models.card import SYNTHETIC_DEMO
    from cxrviewer.models.registry import get_spec, model_card

    assert run(["train", "labels", "--library", str(demo_library), "--name", "carded", "--json", *TINY]) == 0
    capsys.readouterr()
    spec = get_spec("carded")
    card = model_card(spec)
    assert (spec.local_path() / "card.json").is_file()
    assert card.domain == SYNTHETIC_DEMO and not card.trained_on_real  # the demo library's films
    assert card.validated_here and card.validation.patient_disjoint and "valid split" in card.validation.data
    labels = json.loads((spec.local_path() / "config.json").read_text())["labels"]
    assert set(card.validation.findings) == set(labels)
    measured = [f for f in card.validation.findings.values() if f.auroc is not None]
    assert measured and all(0.0 <= f.auroc <= 1.0 and f.positives + f.negatives > 0 for f in measured)
    assert card.validation.films > 0


def test_the_estimate_is_measured_and_a_long_cpu_run_waits_for_yes(demo_library: Path, capsys, monkeypatch):
    from cxrviewer.train import estimate

    assert run(["train", "labels", "--library", str(demo_library), "--name", "est", "--estimate", "--json", *TINY]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"] == "cpu" and data["films"] > 0 and data["step_s"] > 0 and data["steps"] >= 1
    assert data["total_s"] >= data["step_s"] * data["steps"]
    monkeypatch.setattr(estimate, "CONFIRM_ABOVE_S", 0.0)  # every CPU run is "long" now
    assert run(["train", "labels", "--library", str(demo_library), "--name", "long", *TINY]) == 1
    err = capsys.readouterr().err
    assert "not started: this run would take about" in err and "--yes" in err
    assert run(["train", "labels", "--library", str(demo_library), "--name", "long", "--yes", *TINY]) == 0


@pytest.mark.parametrize("seconds, text", [(40, "40 s"), (720, "12 min"), (12000, "3 h 20 min"),
                                            (3 * 86400 + 3600, "3 days 1 h")])
def test_durations_read_naturally(seconds, text):
    from cxrviewer.train.estimate import duration

    assert duration(seconds) == text
