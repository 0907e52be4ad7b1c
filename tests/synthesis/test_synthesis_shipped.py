"""The shipped generator (resources/models/demo-synth): what it records about itself holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _shipped() -> Path:
    from cxrviewer.synthesis import store

    return store.shipped_dir()


def _recorded() -> tuple[dict, dict]:
    folder = _shipped()
    return (json.loads((folder / "config.json").read_text()), json.loads((folder / "evaluation.json").read_text()))


def test_its_recorded_evaluation_is_of_these_weights_and_beats_the_reference_design() -> None:
    """eval synthesis on the held-out demo films, recorded beside the weights: it must be of the
    shipped weights (same training steps and time), not a stale one; a Fréchet distance nearer
    the floor than the reference design's; trained on a CPU in under 30 minutes; under 20 MB."""
    folder = _shipped()
    config, evaluation = _recorded()
    trained, evaluated = config["training"], evaluation["generator"]["training"]
    assert (evaluated["steps"], evaluated["seconds"]) == (trained["steps"], trained["seconds"])
    assert trained["seconds"] <= 30 * 60 and trained["device"] == "CPU"
    fd = evaluation["frechet_encoder"]
    assert abs(fd["generator"] - fd["floor"]) < abs(fd["reference"] - fd["floor"])
    assert (folder / "generator.safetensors").stat().st_size < 20 * 2**20


@pytest.mark.xfail(strict=True, reason="issue 19 blocked: the shipped generator's Consolidation reads at 0.687 "
                                       "(bar 0.85); every other finding the reader reads well is met")
def test_its_conditioning_meets_the_issues_bar() -> None:
    """Conditioning AUROC >= 0.85 for every finding the reader itself reads at >= 0.85 (strict:
    this fails once the bar is met, so the mark comes off with the generator that meets it)."""
    _, evaluation = _recorded()
    conditioning = evaluation["conditioning"]
    assert conditioning["strong_findings"], "the reader reads no finding well enough to judge"
    assert conditioning["strong_met"] == conditioning["strong_findings"], {
        k: conditioning["findings"][k]["auroc"] for k in conditioning["strong_findings"]}


@pytest.mark.parametrize("name", ["config.json", "evaluation.json", "README.md"])
def test_its_records_name_no_folder_of_the_machine_that_trained_it(name: str) -> None:
    """The evaluation.json and README failed this before: the reference design's library and
    the evaluation's own path were the training machine's."""
    from cxrviewer import paths

    text = (_shipped() / name).read_text()
    project = str(paths.resources_dir().parent.resolve())
    for where in ("/tmp/", "/home/", "/root/", "/work/", project):
        assert where not in text, where
    assert "<work>" in text  # the scratch folder is named as such


def test_work_paths_are_written_as_work(tmp_path: Path) -> None:
    from cxrviewer.synthesis.demo_generator import without_work_paths

    work = tmp_path / "scratch dir"
    config = tmp_path / "model" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"training": {"library": str(work / "library"), "steps": 3,
                                               "out": str(config.parent)}}))
    without_work_paths(config, work)
    assert json.loads(config.read_text())["training"] == {"library": "<work>/library", "steps": 3, "out": "<out>"}


def test_plain_text_names_the_work_folder_as_work_too(tmp_path: Path) -> None:
    """The evaluation's summary (the README's figures) is plain text: a folder with a character
    JSON escapes was left there as the machine's path."""
    from cxrviewer.synthesis.demo_generator import portable

    work, out = tmp_path / "scratch é", tmp_path / "model"
    summary = f"reference: trained on {work / 'library'}\nrecorded: {out / 'evaluation.json'}"
    assert portable(summary, work, out) == "reference: trained on <work>/library\nrecorded: <out>/evaluation.json"
    escaped = json.dumps({"library": str(work / "library")})
    assert json.loads(portable(escaped, work, out)) == {"library": "<work>/library"}
