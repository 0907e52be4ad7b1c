"""Model cards: which films a model may read, which figures are shown, and where cards live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.models import ModelError
from cxrviewer.models.card import (
    CHEST_RADIOGRAPH,
    SYNTHETIC_DEMO,
    FindingFigure,
    ModelCard,
    Validation,
    read_card,
    write_card,
)
from cxrviewer.models.classify import NO_REAL_MODEL, choose_finding_model, film_domain
from cxrviewer.models.registry import get_spec, model_card, weights_fingerprint


def test_a_demo_only_model_reads_demo_films_and_a_real_model_reads_both():
    demo = ModelCard(SYNTHETIC_DEMO)
    real = ModelCard(CHEST_RADIOGRAPH)
    assert demo.refusal(SYNTHETIC_DEMO) == ""
    assert "only on synthetic demo films" in demo.refusal(CHEST_RADIOGRAPH, "demo-clip")
    assert real.refusal(CHEST_RADIOGRAPH) == "" and real.refusal(SYNTHETIC_DEMO) == ""
    with pytest.raises(ValueError, match="domain"):
        ModelCard("mammography")


def test_figures_prefer_those_measured_here_and_grey_weak_or_unvalidated_findings():
    published = Validation("published", "CheXpert validation set", findings={"Edema": FindingFigure(0.9)})
    here = Validation("here", "my library", 200, True, True, findings={"Edema": FindingFigure(0.65, 20, 180)})
    card = ModelCard(CHEST_RADIOGRAPH, ("NIH",), published=published)
    assert card.auroc("Edema") == 0.9 and not card.is_weak("Edema") and card.is_weak("Mass")
    assert "not validated here" in card.describe() and "published" in card.describe()
    measured = card.with_validation(here)
    assert measured.auroc("Edema") == 0.65 and measured.is_weak("Edema")
    assert "validated here on 200 real films of my library, patient-disjoint" in measured.describe()


def test_a_card_survives_a_round_trip_and_a_damaged_card_is_named(tmp_path: Path):
    card = ModelCard(CHEST_RADIOGRAPH, ("NIH", "PadChest"), True, "torchxrayvision", "Apache-2.0",
                     Validation("here", "lib", 10, True, True, "2026-12-06", "",
                                {"Mass": FindingFigure(0.81, 3, 7, 0.02), "Hernia": FindingFigure(None, 0, 10)}))
    path = tmp_path / "card.json"
    write_card(path, card)
    assert read_card(path) == card
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=str(path)):
        read_card(path)
    assert read_card(tmp_path / "absent.json") is None


def test_the_shipped_demo_model_carries_its_validation_on_held_out_synthetic_films():
    card = model_card(get_spec("demo-clip"))
    assert card.domain == SYNTHETIC_DEMO and not card.trained_on_real
    assert card.validated_here and card.validation.films >= 500 and not card.validation.real
    assert card.auroc("Cardiomegaly") > 0.9 and not card.is_weak("Cardiomegaly")
    assert card.auroc("Fracture") < 0.7 and card.is_weak("Fracture")  # the demo model cannot see rib breaks


def test_a_card_is_not_part_of_the_weights_fingerprint(tmp_path: Path):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 64)
    before = weights_fingerprint(tmp_path)
    write_card(tmp_path / "card.json", ModelCard(CHEST_RADIOGRAPH))
    assert weights_fingerprint(tmp_path) == before  # recording a validation never orphans a library


def test_a_real_film_gets_no_demo_model_and_says_what_to_do():
    choice = choose_finding_model(film_domain(False))
    assert choice.spec is None and choice.refusal == NO_REAL_MODEL
    demo = choose_finding_model(film_domain(True))
    assert demo.spec is not None and demo.spec.name == "demo-clip"
    asked = choose_finding_model(film_domain(False), get_spec("demo-clip"))
    assert asked.spec is None and asked.refusal.startswith("demo-clip was trained and validated only on synthetic")


def test_an_installed_real_model_is_chosen_for_real_films(tmp_path: Path, isolated_user_dirs):
    """A model whose card names real chest films (here: the demo weights under a real-film card, as
    an import would record it) reads a real film; it is preferred over the demo model for demo films
    only when no model of that film's own kind exists."""
    import shutil

    from cxrviewer.models.formats import spec_from_folder
    from cxrviewer.models.registry import models_dir, record_import

    folder = models_dir() / "chest-model"
    shutil.copytree(get_spec("demo-clip").local_path(), folder)
    write_card(folder / "card.json", ModelCard(CHEST_RADIOGRAPH, ("NIH ChestX-ray14",), True, "test", "MIT"))
    record_import(spec_from_folder(folder, name="chest-model"))
    real = choose_finding_model(film_domain(False))
    assert real.spec is not None and real.spec.name == "chest-model" and not real.refusal
    assert choose_finding_model(film_domain(True)).spec.name == "demo-clip"
    assert json.loads((folder / "card.json").read_text())["domain"] == CHEST_RADIOGRAPH


def test_a_generated_film_is_read_by_no_model_not_even_one_for_real_films(tmp_path: Path, isolated_user_dirs,
                                                                          capsys):
    """A film generated from a text by a generator trained on real films carries no demo mark, so
    it counted as a real chest film and a real-film model's numbers were shown on it."""
    import shutil

    from cxrviewer.cli import run
    from cxrviewer.explain.classify_cli import REFUSED_EXIT
    from cxrviewer.imaging.dicom import read_header
    from cxrviewer.imaging.synthetic import chest_phantom
    from cxrviewer.models.card import GENERATED_FILM
    from cxrviewer.models.classify import GENERATED_REFUSAL, domain_of
    from cxrviewer.models.formats import spec_from_folder
    from cxrviewer.models.registry import models_dir, record_import
    from cxrviewer.synthesis.marking import write_dicom

    folder = models_dir() / "chest-model"
    shutil.copytree(get_spec("demo-clip").local_path(), folder)
    write_card(folder / "card.json", ModelCard(CHEST_RADIOGRAPH, ("NIH ChestX-ray14",), True, "test", "MIT"))
    record_import(spec_from_folder(folder, name="chest-model"))
    film = write_dicom(tmp_path / "generated.dcm", chest_phantom(128, 128, seed=1).astype("uint16"),
                       "generator real-gen; text 'large right pleural effusion'; seed 0", synthetic_demo=False)
    assert domain_of(read_header(film)) == GENERATED_FILM
    assert choose_finding_model(GENERATED_FILM).refusal == GENERATED_REFUSAL
    assert "generated films" in ModelCard(CHEST_RADIOGRAPH).refusal(GENERATED_FILM, "chest-model")
    assert run(["classify", str(film), "--json"]) == REFUSED_EXIT
    out = json.loads(capsys.readouterr().out)
    assert out["refused"] == GENERATED_REFUSAL and out["actions"] == [] and "probabilities" not in out
