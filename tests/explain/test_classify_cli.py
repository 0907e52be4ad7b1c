"""``cxrviewer classify``: probabilities with validation figures on a demo film; a refusal with its
reason on a real film, where the demo model's numbers would mislead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.cli import run
from cxrviewer.explain.classify_cli import REFUSED_EXIT
from cxrviewer.imaging.synthetic import chest_phantom, write_dicom


@pytest.fixture(scope="module")
def real_film(tmp_path_factory) -> Path:
    """A film without the synthetic demo mark: to the app it is a patient's film."""
    return write_dicom(tmp_path_factory.mktemp("real") / "pa.dcm", chest_phantom(256, 256, seed=3))


@pytest.fixture(scope="module")
def demo_film(demo_dataset: Path) -> Path:
    return sorted(demo_dataset.glob("*/*/image.dcm"))[0]


def test_a_demo_film_gets_probabilities_with_each_findings_validation(demo_film, capsys):
    assert run(["classify", str(demo_film), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "demo-clip" and data["film"] == "synthetic demo films"
    assert "validated here" in data["validation"] and data["figures"] == "here"
    rows = {row["finding"]: row for row in data["findings"]}
    assert all(0.0 <= row["probability"] <= 1.0 for row in rows.values())
    assert rows["Cardiomegaly"]["validation_auroc"] > 0.9 and not rows["Cardiomegaly"]["low_validation"]
    assert rows["Fracture"]["low_validation"]


@pytest.mark.parametrize("model", ["", "demo-clip"])
def test_a_real_film_is_refused_with_its_reason_and_no_number(real_film, model, capsys):
    args = ["classify", str(real_film), "--json"] + (["--model", model] if model else [])
    assert run(args) == REFUSED_EXIT
    out = capsys.readouterr().out
    data = json.loads(out)
    assert "findings" not in data and "probability" not in out
    assert "No model validated on real films is installed" in data["refused"] or \
        "only on synthetic demo films" in data["refused"]
    assert any("models import" in a for a in data["actions"])


def test_the_refusal_in_words(real_film, capsys):
    assert run(["classify", str(real_film)]) == REFUSED_EXIT
    err = capsys.readouterr().err
    assert "no finding probabilities" in err and "No model validated on real films" in err


def test_real_chest_films_from_shared_data_are_refused(dicom_dir, capsys):
    for film in sorted((dicom_dir / "chest").glob("*.dcm")):
        assert run(["classify", str(film), "--json"]) == REFUSED_EXIT, film
        assert "findings" not in json.loads(capsys.readouterr().out)


def test_bad_input_is_a_message(tmp_path, capsys):
    (tmp_path / "empty.dcm").write_bytes(b"")
    assert run(["classify", str(tmp_path / "empty.dcm")]) == 1
    assert run(["classify", str(tmp_path / "absent.dcm")]) == 1
    assert "cxrviewer:" in capsys.readouterr().err
