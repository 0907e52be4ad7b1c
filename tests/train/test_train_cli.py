"""``cxrviewer train ...`` end to end, and the shipped demo model's registry entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.cli import run

TINY_TIMM = "resnet10t"
TINY_KWARGS = {"channels": [8, 16, 16, 32], "stem_width": 8}


def test_cli_trains_registers_and_reports_errors(demo_library: Path, text_tower: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from cxrviewer.models.registry import all_specs

    args = ["train", "contrastive", "--library", str(demo_library), "--image-encoder", TINY_TIMM,
            "--timm-kwargs", json.dumps(TINY_KWARGS), "--text-encoder", str(text_tower), "--name", "cli-tiny",
            "--epochs", "1", "--batch-size", "8", "--image-size", "32", "--embed-dim", "16",
            "--device", "cpu", "--no-augment", "--json"]
    assert run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "cli-tiny" and out["steps"] == 4 and "mean_r@5" in out["best"]
    spec = all_specs()["cli-tiny"]
    assert spec.kind == "joint" and spec.source == "imported" and spec.embed_dim == 16

    assert run(args) == 1  # the name is taken: a clean message, no traceback
    assert "already exists" in capsys.readouterr().err
    bad = ["train", "labels", "--library", str(demo_library), "--image-encoder", "no-such-net", "--name", "x"]
    assert run(bad) == 1
    assert "timm model" in capsys.readouterr().err


def test_demo_clip_is_a_shipped_model() -> None:
    from cxrviewer import paths
    from cxrviewer.models.registry import SHIPPED, all_specs

    spec = all_specs()["demo-clip"]
    assert spec is SHIPPED["demo-clip"] and spec.format == "cxrviewer" and spec.has_text
    assert spec.local_path() == paths.resources_dir() / "models" / "demo-clip"
    if not spec.local_path().is_dir():
        pytest.skip("resources/models/demo-clip not present (python -m cxrviewer.train.demo_model)")
    import numpy as np

    from cxrviewer.models.encoders import load_encoder

    encoder = load_encoder("demo-clip", device="cpu")
    assert encoder.encode_texts(["small left pleural effusion"]).shape == (1, encoder.embed_dim)
    probs = encoder.predict_labels(np.zeros((1, 128, 128), np.uint8))
    assert probs.shape == (1, len(encoder.label_names)) and "Pleural Effusion" in encoder.label_names


def test_text_tower_prints_json_when_asked(demo_library: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`train text-tower --json` prints one JSON object (like the other commands), naming the folder
    that `train contrastive --text-encoder` takes."""
    out_dir = tmp_path / "bert"
    args = ["train", "text-tower", "--library", str(demo_library), "--out", str(out_dir), "--layers", "1",
            "--hidden", "32", "--heads", "2", "--vocab-size", "300", "--max-length", "32", "--json"]
    assert run(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["text_encoder"] == str(out_dir) and (out_dir / "config.json").is_file()
    assert result["layers"] == 1 and result["hidden"] == 32 and result["reports"] > 0
    config = json.loads((out_dir / "config.json").read_text())
    assert result["vocab_size"] == config["vocab_size"] <= 300
