"""torchxrayvision weights: imported once with --trust from its published files (replicas written
by torchxrayvision itself), then loaded without pickles and compared with torchxrayvision's own
model reading the same file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from replicas import sealed, write_xrv_resnet, xrv_file_name, xrv_models

from cxrviewer.cli import run
from cxrviewer.models.registry import imported_file, models_dir

ALL = "xrv-densenet121-res224-all"
rng = np.random.default_rng(0)
FILMS = [(rng.random((300, 260)) * 255).astype(np.uint8), (rng.random((224, 224)) * 255).astype(np.uint8)]


def xrv_reference(model, film: np.ndarray, size: int):
    """torchxrayvision's own recipe: normalize(img, 255), one channel, center crop, resize."""
    import torch
    import torchvision
    import torchxrayvision as xrv

    image = xrv.datasets.normalize(film, 255)[None, ...]
    image = torchvision.transforms.Compose([xrv.datasets.XRayCenterCrop(), xrv.datasets.XRayResizer(size)])(image)
    x = torch.from_numpy(image)[None]
    with torch.no_grad():
        return x, model(x)[0].numpy(), model.features2(x)[0].numpy() if hasattr(model, "features2") else None


def test_the_table_of_weights_is_covered() -> None:
    from cxrviewer.models import xrv_import

    table = xrv_import.weights_table()
    keys = {w.key for w in table.values()}
    assert keys == {f"densenet121-res224-{k}" for k in ("all", "nih", "pc", "chex", "rsna", "mimic_nb", "mimic_ch")} | \
        {"resnet50-res512-all"}
    assert keys == set(xrv_import.TRAINING_DATA)
    assert table[xrv_file_name("densenet121-res224-rsna")].key == "densenet121-res224-rsna"
    assert all(w.input_size == (512 if w.architecture == "resnet50" else 224) for w in table.values())


def test_import_needs_trust_and_names_the_file(xrv_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "import", str(xrv_cache)]) == 1
    err = capsys.readouterr().err
    name = xrv_file_name("densenet121-res224-nih")  # the first file, with its table entry and URL
    assert name in err and "pickle" in err and "can run any code" in err and "--trust" in err
    assert "model_urls['densenet121-res224-nih']" in err and f"releases/download/v1/{name}" in err
    assert xrv_file_name("densenet121-res224-all") in err and "'densenet121-res224-all'" in err
    assert "torchxrayvision.models.DenseNet" in err  # what the pickle names, read without running it
    assert not imported_file().exists() and not any(models_dir().glob("xrv-*"))


def test_import_of_the_cache_folder_converts_every_weight(xrv_cache: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "import", str(xrv_cache), "--trust", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["imported"]}
    assert set(rows) == {ALL, "xrv-densenet121-res224-nih"}
    row = rows[ALL]
    assert (row["format"], row["kind"], row["embed_dim"], row["input_size"], row["action"]) == \
        ("torchxrayvision", "image", 1024, 224, "converted")
    assert row["source"] == "imported" and row["licence"].startswith("Apache-2.0")
    assert row["card"]["domain"] == "chest-radiograph" and row["card"]["publisher"] == "torchxrayvision (Cohen et al.)"
    assert "PadChest" in row["card"]["training_data"] and row["card"]["validation"] is None
    assert rows["xrv-densenet121-res224-nih"]["card"]["training_data"] == ["NIH ChestX-ray14"]
    folder = models_dir() / ALL
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["labels"]["Effusion"] == "Pleural Effusion" and config["labels"]["Pleural_Thickening"] == \
        "Pleural Thickening"
    assert config["source"]["file"] == xrv_file_name("densenet121-res224-all")
    assert "admits only the 12 classes" in config["source"]["read_with"]  # never the full unpickler
    nih = json.loads((models_dir() / "xrv-densenet121-res224-nih" / "config.json").read_text())
    assert nih["op_threshs"][14] is None and nih["pathologies"][14] == ""
    listed = {r["name"]: r for r in json.loads(_out(capsys, ["models", "list", "--json"]))["models"]}
    assert listed[ALL]["present"] and listed[ALL]["card"]["training_data"] == row["card"]["training_data"]
    assert run(["models", "verify", ALL]) == 0
    assert "18 findings" in capsys.readouterr().out


def _out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert run(argv) == 0
    return capsys.readouterr().out


def test_outputs_equal_torchxrayvisions_own_model_and_nothing_is_unpickled(xrv_cache: Path) -> None:
    from cxrviewer.explain import LabelTarget, explain
    from cxrviewer.models.encoders import load_encoder
    from cxrviewer.reports.labels import TORCHXRAYVISION_TO_OURS

    assert run(["models", "import", str(xrv_cache / xrv_file_name("densenet121-res224-all")), "--trust"]) == 0
    reference = xrv_models().DenseNet(weights="densenet121-res224-all", cache_dir=str(xrv_cache))
    with sealed():
        encoder = load_encoder(ALL, device="cpu")
        probabilities = encoder.predict_labels(FILMS)
        logits = encoder.predict_labels(FILMS, logits=True)
        vectors = encoder.encode_images(FILMS)
        saliency = explain(encoder, FILMS[0], LabelTarget("Pleural Effusion"))
        gradients = explain(encoder, FILMS[0], LabelTarget("Pleural Effusion"), "ig", steps=4, batch=4)
    assert encoder.label_names == tuple(TORCHXRAYVISION_TO_OURS[t] for t in reference.targets)
    for i, film in enumerate(FILMS):
        x, expected, features = xrv_reference(reference, film, 224)
        np.testing.assert_array_equal(encoder.prepare_images([film]).numpy(), x.numpy())
        np.testing.assert_allclose(probabilities[i], expected, atol=1e-5)
        np.testing.assert_allclose(vectors[i], features / np.linalg.norm(features), atol=1e-5)
    assert not np.allclose(probabilities[0], probabilities[1], atol=1e-3)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probabilities, atol=1e-6)
    assert saliency.method == "layercam" and saliency.values.shape == (224, 224) and saliency.values.max() == 1
    effusion = encoder.label_names.index("Pleural Effusion")
    assert saliency.score == pytest.approx(float(logits[0, effusion]), abs=1e-4)  # explains the finding's score
    assert gradients.values.shape == (224, 224) and np.isfinite(gradients.extra["completeness_gap"])


def test_the_guard_catches_unpickling(xrv_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """sealed() has teeth: the import, which must unpickle, fails inside it."""
    with sealed(), pytest.raises(AssertionError, match="unpickled"):
        run(["models", "import", str(xrv_cache), "--trust"])


def test_op_norm_head_matches_torchxrayvision_and_stays_finite() -> None:
    import torch

    from cxrviewer.models.xrv import OpNormHead

    thresholds = [0.07, 0.5, 0.9]
    linear = torch.nn.Linear(1, 3)
    with torch.no_grad():
        linear.weight.fill_(1.0)
        linear.bias.zero_()
    head = OpNormHead(linear, [0, 1, 2], thresholds)
    z = torch.tensor([-40.0, -5.0, -0.3, 0.0, 0.2, 3.0, 12.0, 40.0])[:, None].requires_grad_(True)
    logits = head(z)
    expected = xrv_models().op_norm(torch.sigmoid(linear(z)), torch.tensor(thresholds))
    np.testing.assert_allclose(torch.sigmoid(logits).detach().numpy(), expected.detach().numpy(), atol=1e-6)
    logits.sum().backward()
    assert torch.isfinite(logits).all() and torch.isfinite(z.grad).all() and (z.grad > 0).all()


def test_resnet50_at_512_drops_outputs_without_an_operating_point(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = write_xrv_resnet(tmp_path / "models_data")
    assert run(["models", "import", str(path), "--trust", "--name", "xrv-resnet"]) == 0
    assert "converted from pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt" in capsys.readouterr().out
    from cxrviewer.models.encoders import load_encoder

    film = (rng.random((600, 520)) * 255).astype(np.uint8)
    with sealed():
        encoder = load_encoder("xrv-resnet", device="cpu")
        probabilities = encoder.predict_labels([film])[0]
        vector = encoder.encode_images([film])[0]
    assert encoder.spec.input_size == 512 and encoder.embed_dim == 2048 and len(vector) == 2048
    assert "Lung Lesion" not in encoder.label_names and "Enlarged Cardiomediastinum" not in encoder.label_names
    reference = xrv_models().ResNet(weights="resnet50-res512-all", cache_dir=str(path.parent))
    _, expected, _ = xrv_reference(reference, film, 512)
    by_name = dict(zip(reference.targets, expected))
    from cxrviewer.reports.labels import TORCHXRAYVISION_TO_OURS

    ours = {TORCHXRAYVISION_TO_OURS[t]: v for t, v in by_name.items()}
    for name, value in zip(encoder.label_names, probabilities):
        assert value == pytest.approx(float(ours[name]), abs=1e-5), name
    assert all(by_name[t] == 0.5 for t in ("Lung Lesion", "Enlarged Cardiomediastinum"))  # what was dropped


def test_broken_weight_files_are_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    folder = tmp_path / "models_data"
    folder.mkdir()
    wrong = folder / xrv_file_name("densenet121-res224-chex")
    torch.save({"conv.weight": torch.zeros(2, 2)}, wrong)  # a state dict of something else
    assert run(["models", "import", str(wrong), "--trust"]) == 1
    err = capsys.readouterr().err
    assert "does not hold torchxrayvision's densenet121" in err and "missing" in err and "Traceback" not in err
    marker = tmp_path / "ran"

    class Payload:  # what a malicious file under a torchxrayvision name would hold
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    for legacy in (True, False):
        torch.save({"model": Payload()}, wrong, _use_new_zipfile_serialization=not legacy)
        assert run(["models", "import", str(wrong), "--trust"]) == 1
        err = capsys.readouterr().err
        assert "not on the allowlist" in err and "system" in err and "does not unpickle it" in err
        assert not marker.exists()  # --trust still runs nothing the allowlist does not name
    wrong.write_bytes(b"PK\x03\x04 not really")
    assert run(["models", "import", str(wrong), "--trust"]) == 1
    err = capsys.readouterr().err
    assert str(wrong) in err and "Traceback" not in err
    assert not models_dir().exists() or not any(models_dir().iterdir())  # no model, no staging folder left
