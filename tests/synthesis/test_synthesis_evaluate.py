"""``eval synthesis`` end to end on a small library, with the reference trained in the same run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cxrviewer.cli import run


@pytest.fixture(scope="module")
def eval_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 demo cases: enough held-out films (valid + test) for two halves."""
    from cxrviewer.demo import write_demo
    from cxrviewer.library.build import BuildOptions, build_library

    root = tmp_path_factory.mktemp("eval-data")
    write_demo(root, n_cases=96, size=128, seed=3, workers=1)
    folder = tmp_path_factory.mktemp("libraries") / "eval"
    build_library(BuildOptions("demo", root, folder, synthetic=True, workers=1))
    return folder


def test_eval_synthesis_reports_every_figure(eval_library: Path, tiny_generator: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    generator = tmp_path / "g"
    shutil.copytree(tiny_generator, generator)
    code = run(["eval", "synthesis", "--library", str(eval_library), "--model", str(generator),
                "--reference-minutes", "0.005", "--device", "cpu", "--workers", "1", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    fd = result["frechet_encoder"]
    assert fd["floor"] >= 0 and fd["generator"] > fd["floor"]  # a 4-step generator is far from real films
    assert "reference" in fd and result["reference"]["training"]["steps"] >= 1
    assert "skipped" in result["fid_inception"]
    cond = result["conditioning"]
    assert cond["reader"] == "demo-clip"
    for figure in cond["findings"].values():
        assert figure["requested"] >= 2 and figure["not_requested"] >= 2
        assert figure["real_films_auroc"] is None or 0 <= figure["real_films_auroc"] <= 1
        for key in ("false_alarms", "real_films_false_alarms"):
            assert 0 <= figure[key]["films"] <= figure["not_requested"]
        assert set(figure["real_films_degraded_auroc"]) == {"detail_4px", "grain_6pct"}
    assert all("real_films_degraded_auroc" not in f for f in cond["reference"]["findings"].values())
    mem = result["memorisation"]
    assert mem["generated_films"] == result["held_out"]["films"]
    assert set(mem) >= {"encoder", "pixels"}
    # recorded beside the generator, and its conditioning on the card
    assert json.loads((generator / "evaluation.json").read_text())["library"] == result["library"]


def test_a_local_inception_weight_file_gives_pool_features(tmp_path: Path) -> None:
    import numpy as np
    import torch
    from torchvision.models import inception_v3

    from cxrviewer.synthesis.inception import load_inception

    weights = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
    features = load_inception(weights, torch.device("cpu"))
    films = np.random.default_rng(0).integers(0, 255, (2, 128, 128), dtype=np.uint8)
    out = features(films)
    assert features.kind == "torchvision" and features.exact
    assert out.shape == (2, 2048) and np.isfinite(out).all()


@pytest.mark.slow
def test_eval_synthesis_with_inception_weights(eval_library: Path, tiny_generator: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """A (random) torchvision Inception-v3 state dict is accepted and gives an FID beside the floor."""
    import torch
    from torchvision.models import inception_v3

    weights = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
    code = run(["eval", "synthesis", "--library", str(eval_library), "--model", str(tiny_generator),
                "--no-reference", "--no-record", "--inception-weights", str(weights), "--device", "cpu",
                "--workers", "1", "--json"])
    assert code == 0
    fid = json.loads(capsys.readouterr().out)["fid_inception"]
    assert fid["network"] == "torchvision" and fid["floor"] >= 0 and fid["generator"] >= 0


def test_eval_synthesis_refuses_a_file_that_is_not_inception(eval_library: Path, tiny_generator: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a weight file")
    code = run(["eval", "synthesis", "--library", str(eval_library), "--model", str(tiny_generator),
                "--no-reference", "--inception-weights", str(bad)])
    assert code == 1
    assert "cannot be read as a weight file" in capsys.readouterr().err
