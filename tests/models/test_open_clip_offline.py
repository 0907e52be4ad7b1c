"""open_clip models as published (BiomedCLIP's folder, CheXzero's single .pt), replicas written
by open_clip itself: imported once, then loaded with the hub switched off and the network
unreachable, without unpickling anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from replicas import BIOMEDCLIP_TEXT_HUB_ID, openai_clip_cfg, sealed

from cxrviewer.cli import run
from cxrviewer.models import ModelError
from cxrviewer.models.registry import imported_file, models_dir

TEXTS = ["small left pleural effusion", "no acute cardiopulmonary process"]
rng = np.random.default_rng(3)
FILM = (rng.random((200, 180)) * 255).astype(np.uint8)


def _import(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert run(["models", "import", *argv, "--json"]) == 0, capsys.readouterr().err
    (row,) = json.loads(capsys.readouterr().out)["imported"]
    return row


def test_biomedclip_import_says_what_is_missing(biomedclip_replica: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder, text = biomedclip_replica
    assert run(["models", "import", str(folder), "--trust"]) == 1
    err = capsys.readouterr().err
    assert BIOMEDCLIP_TEXT_HUB_ID in err and "text_cfg.hf_model_name" in err and "--text-tower FOLDER" in err
    assert "config.json" in err and "vocab.txt" in err and "Traceback" not in err
    assert run(["models", "import", str(folder), "--text-tower", str(tmp_path)]) == 1
    assert "--text-tower" in (err := capsys.readouterr().err) and "no config.json" in err
    assert run(["models", "import", str(folder), "--text-tower", str(text)]) == 1
    err = capsys.readouterr().err
    assert "open_clip_pytorch_model.bin is a Python pickle" in err and "--trust" in err
    assert not imported_file().exists()


def test_biomedclip_loads_offline_and_encodes_as_open_clip_does(biomedclip_replica: tuple[Path, Path],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import torch
    from open_clip.model import CustomTextCLIP
    from open_clip.tokenizer import HFTokenizer

    from cxrviewer.models.encoders import load_encoder

    folder, text = biomedclip_replica
    row = _import([str(folder), "--text-tower", str(text), "--trust", "--name", "biomed"], capsys)
    assert (row["format"], row["kind"], row["embed_dim"], row["input_size"], row["licence"]) == \
        ("open_clip", "joint", 16, 160, "mit")
    copied = models_dir() / "biomed"
    assert sorted(p.name for p in copied.iterdir()) == ["README.md", "open_clip_config.json",
                                                        "open_clip_model.safetensors", "text"]
    assert {"config.json", "vocab.txt"} <= {p.name for p in (copied / "text").iterdir()}
    assert json.loads((copied / "open_clip_config.json").read_text()) == \
        json.loads((folder / "open_clip_config.json").read_text())  # the published config, untouched
    with sealed():
        encoder = load_encoder("biomed", device="cpu")
        texts = encoder.encode_texts(TEXTS)
        image = encoder.encode_images([FILM])
    assert texts.shape == (2, 16) and image.shape == (1, 16) and not np.allclose(texts[0], texts[1])
    # the same numbers from open_clip's own model with the original (pickled) weights
    cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
    cfg["text_cfg"].update(hf_model_name=str(text), hf_tokenizer_name=str(text), hf_model_pretrained=False)
    reference = CustomTextCLIP(**cfg).eval()
    reference.load_state_dict(torch.load(folder / "open_clip_pytorch_model.bin", weights_only=True))
    tokens = HFTokenizer(str(text), context_length=32)(TEXTS)
    with torch.no_grad():
        expected_text = torch.nn.functional.normalize(reference.encode_text(tokens), dim=-1).numpy()
        expected_image = torch.nn.functional.normalize(
            reference.encode_image(encoder.prepare_images([FILM])), dim=-1).numpy()
    np.testing.assert_allclose(texts, expected_text, atol=1e-5)
    np.testing.assert_allclose(image, expected_image, atol=1e-5)
    assert run(["models", "verify", "biomed"]) == 0
    # the converted layout (safetensors, text/) is a folder that imports as it is, in place
    again = _import([str(copied), "--name", "biomed-in-place"], capsys)
    assert again["action"] == "recorded" and again["path"] == str(copied)


def test_a_pickled_open_clip_folder_is_not_loaded(biomedclip_replica: tuple[Path, Path], tmp_path: Path) -> None:
    from cxrviewer.models.encoders import load_encoder

    folder, text = biomedclip_replica
    copy = Path(shutil.copytree(folder, tmp_path / "biomedclip"))
    shutil.copytree(text, copy / "text")
    with pytest.raises(ModelError, match=r"only as a Python pickle \(open_clip_pytorch_model.bin\).*--trust"):
        load_encoder(copy, device="cpu")


def test_the_download_fetches_the_text_tower_and_converts_the_pickle(
        biomedclip_replica: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import huggingface_hub

    folder, text = biomedclip_replica
    asked: list[tuple[str, tuple[str, ...]]] = []

    def fake(repo_id: str, local_dir: str, allow_patterns=None, **kwargs: object) -> str:
        asked.append((repo_id, tuple(allow_patterns or ())))
        shutil.copytree(text if repo_id == BIOMEDCLIP_TEXT_HUB_ID else folder, local_dir, dirs_exist_ok=True)
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    assert run(["models", "download", "biomedclip"]) == 0
    out = capsys.readouterr().out
    assert "text tower config and tokenizer" in out and "converted to open_clip_model.safetensors" in out
    assert [a[0] for a in asked] == ["microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224", BIOMEDCLIP_TEXT_HUB_ID]
    assert "vocab.txt" in asked[1][1] and "*.safetensors" not in asked[1][1]  # config and tokenizer only
    target = models_dir() / "biomedclip"
    assert not (target / "open_clip_pytorch_model.bin").exists() and (target / "text" / "config.json").is_file()
    with sealed():
        assert run(["models", "verify", "biomedclip"]) == 0


def test_chexzero_checkpoint_becomes_an_open_clip_folder(chexzero_replica: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import torch
    from open_clip.model import CLIP
    from open_clip.tokenizer import tokenize

    from cxrviewer.models.clip_import import CHEXZERO_MEAN
    from cxrviewer.models.encoders import load_encoder

    assert run(["models", "import", str(chexzero_replica)]) == 1
    err = capsys.readouterr().err
    assert chexzero_replica.name in err and "Python pickle" in err and "CheXzero" in err and "--trust" in err
    row = _import([str(chexzero_replica), "--trust"], capsys)
    assert (row["name"], row["format"], row["kind"], row["embed_dim"], row["input_size"]) == \
        ("chexzero", "open_clip", "joint", 32, 224)
    assert row["mean"] == pytest.approx([101.48761 / 255] * 3) and row["std"] == pytest.approx([83.43944 / 255] * 3)
    assert row["card"]["training_data"][0].startswith("MIMIC-CXR") and "CheXzero" in row["card"]["publisher"]
    assert "PhysioNet" in row["licence"] and "weights_only" in row["note"]
    config = json.loads((models_dir() / "chexzero" / "open_clip_config.json").read_text())
    assert config["model_cfg"] == openai_clip_cfg()  # the architecture read back from the tensors
    with sealed():
        encoder = load_encoder("chexzero", device="cpu")
        texts = encoder.encode_texts(TEXTS)
        image = encoder.encode_images([FILM])
    reference = CLIP(**openai_clip_cfg()).eval()
    reference.load_state_dict(torch.load(chexzero_replica, weights_only=True))
    assert encoder.spec.mean == pytest.approx(CHEXZERO_MEAN)  # the folder's preprocess_cfg is what runs
    pixels = encoder.prepare_images([FILM])
    with torch.no_grad():
        expected_text = torch.nn.functional.normalize(reference.encode_text(tokenize(TEXTS)), dim=-1).numpy()
        expected_image = torch.nn.functional.normalize(reference.encode_image(pixels), dim=-1).numpy()
    np.testing.assert_allclose(texts, expected_text, atol=1e-5)
    np.testing.assert_allclose(image, expected_image, atol=1e-5)


def test_the_replica_has_the_keys_of_the_real_checkpoint(chexzero_replica: Path) -> None:
    """OpenAI's ViT-B/32 (open_clip's ViT-B-32-quickgelu, which loads OpenAI's file strictly) has
    these keys; read at its real size, the architecture comes back as that config."""
    import open_clip
    import torch
    from open_clip.model import CLIP

    from cxrviewer.models.clip_import import openai_model_cfg

    with torch.device("meta"):
        real = CLIP(**open_clip.get_model_config("ViT-B-32-quickgelu")).state_dict()
    replica = torch.load(chexzero_replica, weights_only=True)
    assert set(replica) == set(real)
    assert openai_model_cfg(real) == open_clip.get_model_config("ViT-B-32-quickgelu")


def test_other_single_files_are_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    other = tmp_path / "weights.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, other)
    assert run(["models", "import", str(other), "--trust"]) == 1
    err = capsys.readouterr().err
    assert "neither a torchxrayvision weight file" in err and "OpenAI-layout CLIP" in err
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert run(["models", "import", str(notes)]) == 1
    assert "not a model folder or a weight file" in capsys.readouterr().err
