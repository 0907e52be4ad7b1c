"""The commands: synthesize, train synthesis and eval synthesis, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.cli import run


def test_synthesize_writes_marked_films(tiny_generator: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "films"
    code = run(["synthesize", "small left apical pneumothorax", "--model", str(tiny_generator), "--n", "3",
                "--out", str(out), "--seed", "4", "--device", "cpu", "--json"])
    assert code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert len(files) == 6  # DICOM and PNG of each
    record = json.loads((out / "synthesis.json").read_text())
    assert record["text"] == "small left apical pneumothorax" and record["seed"] == 4


def test_synthesize_names_a_missing_generator(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = run(["synthesize", "effusion", "--model", "no-such-generator", "--out", str(tmp_path / "x")])
    assert code == 1
    assert "no generator named 'no-such-generator'" in capsys.readouterr().err


def test_synthesize_refuses_a_bad_count(tiny_generator: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run(["synthesize", "effusion", "--model", str(tiny_generator), "--n", "0", "--out", str(tmp_path)]) == 1
    assert "--n must be" in capsys.readouterr().err


def test_train_synthesis_from_the_command_line(demo_library: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g"
    code = run(["train", "synthesis", "--library", str(demo_library), "--model", "cli-gen", "--out", str(out),
                "--run-dir", str(tmp_path / "run"), "--steps", "2", "--width", "4", "--batch-size", "8",
                "--device", "cpu", "--workers", "1", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and Path(result["model_dir"]) == out
    assert run(["train", "synthesis", "--library", str(demo_library), "--model", "cli-gen", "--out", str(out),
                "--steps", "2"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_train_synthesis_refuses_text_conditioning_without_a_joint_model(demo_library: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    code = run(["train", "synthesis", "--library", str(demo_library), "--out", str(tmp_path / "g"),
                "--condition", "text", "--steps", "1", "--width", "4", "--device", "cpu"])
    assert code == 1
    assert "no joint image-text model" in capsys.readouterr().err
